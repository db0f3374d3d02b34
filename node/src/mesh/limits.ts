// Every limit the mesh side of a node enforces (dispatch, memory, retention),
// with its default, in one place: the CLI's flags (cli/commands/limit-flags.ts),
// the README's "Limits" table and the tests all name these fields.

export interface NodeLimits {
  /** Unacknowledged executes a worker may hold before it gets no new `any` work. */
  maxOutstandingPerWorker: number;
  /** An execute a worker has not acknowledged (task.acquire) for this long goes to another worker that keeps up. */
  workerStallMs: number;
  /** How long an execute nobody can take waits for a worker before it is dropped (the retry timer re-sends pending tasks). */
  parkedExecuteTtlMs: number;
  /** V8 heap the node may use before it refuses requests that add records (0: 70% of the heap limit). */
  memoryBudgetBytes: number;
  /** Settled promises (and their tasks) older than this are removed (0: kept forever). */
  retentionMs: number;
}

export const DEFAULT_NODE_LIMITS: Readonly<NodeLimits> = Object.freeze({
  maxOutstandingPerWorker: 1_000,
  workerStallMs: 10_000,
  parkedExecuteTtlMs: 10 * 60_000,
  memoryBudgetBytes: 0,
  retentionMs: 0,
});

export function resolveNodeLimits(limits: Partial<NodeLimits> = {}): NodeLimits {
  const out: NodeLimits = { ...DEFAULT_NODE_LIMITS };
  for (const [key, value] of Object.entries(limits) as [keyof NodeLimits, unknown][]) {
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
