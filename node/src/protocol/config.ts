// Limits and timings of the protocol. Every field has a default; engines and
// tests override what they need with a Partial.

export interface ProtocolConfig {
  /** How often a pending task's `execute` is re-sent until it is acquired. */
  retryIntervalMs: number;
  /** Largest payload, in decoded bytes of `Value.data`. */
  maxPayloadBytes: number;
  /** Longest promise, task or schedule id, in characters. */
  maxIdLength: number;
  /** Longest lease a worker may ask for. */
  maxTtlMs: number;
  /** Latest absolute `timeoutAt` (ms epoch) a promise may have. */
  maxTimeoutAt: number;
  /** Longest relative timeout of the promises a schedule creates. */
  maxPromiseTimeoutMs: number;
  /** `limit` of a search when the request has none. */
  defaultSearchLimit: number;
  /** Largest `limit` a search may ask for. */
  maxSearchLimit: number;
  /** Tags of a promise or schedule, and headers of a value: most entries. */
  maxTags: number;
  /** Longest tag or header key plus value, in characters. */
  maxTagLength: number;
  /** Longest address (a listener's, a target), in characters. */
  maxAddressLength: number;
  /** Listeners one pending promise may hold; one more is refused. */
  maxListenersPerPromise: number;
  /** Tasks one task.heartbeat may name. */
  maxHeartbeatTasks: number;
  /** Missed schedule ticks created by one `fireSchedule` call; the rest follow on the next call. */
  maxCatchUpTicks: number;
  /**
   * Refuse (400) a callback between promises of different origins, as the
   * reference server does. Off by default: our mesh does not partition by
   * origin, and workflows await latent promises with explicit ids outside
   * their own tree (human in the loop), which the official SDK does too.
   */
  requireSameOrigin: boolean;
}

export const defaultProtocolConfig: ProtocolConfig = Object.freeze({
  retryIntervalMs: 30_000,
  maxPayloadBytes: 4 * 1024 * 1024,
  maxIdLength: 1024,
  maxTtlMs: 7 * 24 * 60 * 60 * 1000,
  maxTimeoutAt: Number.MAX_SAFE_INTEGER,
  maxPromiseTimeoutMs: 100 * 365 * 24 * 60 * 60 * 1000,
  defaultSearchLimit: 100,
  maxSearchLimit: 1000,
  maxCatchUpTicks: 1000,
  maxTags: 64,
  maxTagLength: 4096,
  maxAddressLength: 1024,
  maxListenersPerPromise: 1000,
  maxHeartbeatTasks: 10_000,
  requireSameOrigin: false,
});

export function resolveConfig(config?: Partial<ProtocolConfig>): ProtocolConfig {
  if (config === undefined) return defaultProtocolConfig;
  return { ...defaultProtocolConfig, ...config };
}
