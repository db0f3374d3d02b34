// The CLI's two kinds of failure and how they reach the terminal: one sentence on
// stderr and an exit code a script can branch on (0 ok, 1 not found or refused,
// 2 usage error). Stack traces never reach the user.

export const ExitCode = { ok: 0, refused: 1, usage: 2 } as const;

/** The command line itself is wrong: a flag, a duration, a JSON value. Exit 2. */
export class UsageError extends Error {
  readonly exitCode = ExitCode.usage;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The node answered no (not found, wrong state, unauthenticated) or could not be reached. Exit 1. */
export class RefusedError extends Error {
  readonly exitCode = ExitCode.refused;
  constructor(message: string) {
    super(message);
    this.name = "RefusedError";
  }
}

export type CliError = UsageError | RefusedError;

/** The line printed for any error, whatever was thrown. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // One sentence: the first line only, without a trailing period doubled up by callers.
  const first = message.split("\n")[0]!.trim();
  return `error: ${first || "unexpected failure"}`;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof RefusedError) return err.exitCode;
  return ExitCode.refused;
}
