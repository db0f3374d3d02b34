// Logs for people at a terminal (one short coloured line per event) and JSON
// lines for machines (when stdout is not a TTY: containers, files, pipes).

import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, options: { pretty?: boolean } = {}): Logger {
  const usePretty = options.pretty ?? process.stdout.isTTY === true;
  if (!usePretty) return pino({ level, base: { pid: process.pid } });
  // Synchronous pretty stream (no worker thread): a line is on screen before the process exits.
  const stream = pretty({
    colorize: true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    // The start and stop lines already say these in words; JSON logs keep them as fields.
    ignore: "pid,hostname,command,address,store,signal,ms",
    sync: true,
  });
  return pino({ level }, stream);
}
