// Client configuration: explicit options win, then the environment, then
// defaults. No URL at all means local mode.

import { readClientTls } from "@resonate-mesh/node/client";
import { invalidArgument } from "./errors.ts";
import { randomPid } from "./ids.ts";

export interface ConnectionConfig {
  /** A node's address, e.g. http://localhost:8001. Unset: local mode. */
  url?: string;
  /** This worker's group (default "default"). */
  group?: string;
  /** This process's id within the group (default: a random uuid without dashes). */
  pid?: string;
  /** Lease of acquired tasks in ms (default 60000); heartbeats go every ttl/2. */
  ttl?: number;
  /** Bearer token sent with every request. */
  token?: string;
  /** Prepended to every promise id this client names. */
  prefix?: string;
  /**
   * TLS to an https:// node, PEM contents: `ca` that signed the node's
   * certificate (default: the system roots), `cert` + `key` for a node that
   * requires client certificates. Env: RESONATE_CA_FILE, RESONATE_CERT_FILE,
   * RESONATE_KEY_FILE (file names).
   */
  tls?: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
}

export interface ResolvedConfig {
  url: string | undefined;
  group: string;
  pid: string;
  ttl: number;
  token: string | undefined;
  prefix: string;
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer };
}

export function resolveConfig(config: ConnectionConfig, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const url = config.url ?? urlFromEnv(env);
  if (url !== undefined) {
    try {
      new URL(url);
    } catch {
      throw invalidArgument(`url "${url}" is not a URL; use the form http://host:8001.`);
    }
  }
  const ttl = config.ttl ?? 60_000;
  if (!Number.isInteger(ttl) || ttl < 100) throw invalidArgument(`ttl must be an integer number of ms >= 100, got ${String(ttl)}.`);
  const group = config.group ?? "default";
  if (group.length === 0) throw invalidArgument(`group must not be empty; leave it out for "default".`);
  const pid = config.pid ?? randomPid();
  if (pid.length === 0) throw invalidArgument(`pid must not be empty; leave it out for a random one.`);
  return {
    url,
    group,
    pid,
    ttl,
    token: config.token ?? nonEmpty(env.RESONATE_TOKEN),
    prefix: config.prefix ?? env.RESONATE_PREFIX ?? "",
    tls: config.tls ?? tlsFromEnv(env),
  };
}

function tlsFromEnv(env: NodeJS.ProcessEnv): ResolvedConfig["tls"] {
  try {
    return readClientTls(
      { caFile: nonEmpty(env.RESONATE_CA_FILE), certFile: nonEmpty(env.RESONATE_CERT_FILE), keyFile: nonEmpty(env.RESONATE_KEY_FILE) },
      { ca: "RESONATE_CA_FILE", cert: "RESONATE_CERT_FILE", key: "RESONATE_KEY_FILE" },
    );
  } catch (err) {
    throw invalidArgument(`${(err as Error).message}.`);
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === "" ? undefined : v;
}

function urlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = nonEmpty(env.RESONATE_URL);
  if (url !== undefined) return url;
  const host = nonEmpty(env.RESONATE_HOST);
  if (host === undefined) return undefined;
  return `http://${host}:${nonEmpty(env.RESONATE_PORT) ?? "8001"}`;
}
