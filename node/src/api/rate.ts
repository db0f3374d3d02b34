// Requests per second per token: a token bucket for each bearer token, its
// rate set per role (`--rate-limit 100 --rate-limit admin=1000`). A bucket
// holds one second's worth of requests, so a token may burst to its rate and
// then keeps to it. A request over the rate is refused with 429 /
// RESOURCE_EXHAUSTED (code RATE_LIMITED) naming the limit, before anything runs; refusals are
// counted for /metrics. Streams (Poll, Watch, SSE) count once, when opened.

import type { ProtocolError } from "../protocol/types.ts";

/** Requests per second by role; `"*"` for every role without its own entry. 0 or absent: no limit. */
export type RateLimits = Record<string, number>;

export const ANY_ROLE = "*";

/** `100` (every role) or `admin=1000` (one role), as given to --rate-limit; throws naming the rule. */
export function parseRateLimit(spec: string, previous: RateLimits = {}): RateLimits {
  const m = /^\s*(?:([A-Za-z0-9_.:-]+)\s*=\s*)?(\d+(?:\.\d+)?)\s*$/.exec(spec);
  if (!m) throw new Error(`--rate-limit "${spec}" must be requests per second, such as 100, or ROLE=RATE, such as admin=1000`);
  return { ...previous, [m[1] ?? ANY_ROLE]: Number(m[2]) };
}

interface Bucket {
  tokens: number;
  at: number;
}

const MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly limits: RateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The rate of a role, or undefined when it is not limited. */
  rateOf(role: string): number | undefined {
    const rate = this.limits[role] ?? this.limits[ANY_ROLE];
    return rate === undefined || rate <= 0 ? undefined : rate;
  }

  /** Take one request from `key`'s bucket; the 429 to answer when it is empty. */
  take(key: string, role: string): ProtocolError | undefined {
    const rate = this.rateOf(role);
    if (rate === undefined) return undefined;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: rate, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    this.refused.set(role, (this.refused.get(role) ?? 0) + 1);
    const waitMs = Math.ceil(((1 - bucket.tokens) / rate) * 1000);
    return {
      status: 429,
      code: "RATE_LIMITED",
      message: `this token is over its limit of ${rate} requests per second (${role === "" ? "tokens without a role" : `role "${role}"`}); retry in ${waitMs} ms`,
    };
  }

  /** `resonate_auth_rate_limited_total{role}` in the Prometheus text format. */
  metricsText(): string {
    const lines = [
      "# HELP resonate_auth_rate_limited_total Requests refused because their token was over its rate, by role.",
      "# TYPE resonate_auth_rate_limited_total counter",
    ];
    for (const [role, count] of this.refused) {
      lines.push(`resonate_auth_rate_limited_total{role="${role === "" ? "none" : role.replace(/["\\\n]/g, "_")}"} ${count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}
