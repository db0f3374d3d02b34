// Admission control for the node's memory: a budget on the V8 heap. Before a
// request that adds records runs, the heap in use (sampled at most every
// `sampleMs`, plus what was admitted since the sample) and the request's
// payload must fit in the budget; otherwise it is refused with
// RESOURCE_EXHAUSTED (gRPC) / 429 (HTTP) and a sentence, before anything is
// written. Completions (settles) with small values always pass: they let work
// finish, which is how a loaded node recovers.

import { getHeapStatistics } from "node:v8";
import type { ProtocolError, Request } from "../protocol/types.ts";

/** Settles whose value is at most this many characters pass even over the budget. */
const SMALL_VALUE = 64 * 1024;

export interface MemoryStats {
  budgetBytes: number;
  heapUsedBytes: number;
  /** Requests refused because of the budget, since start. */
  refused: number;
}

export class MemoryBudget {
  private sampledAt = 0;
  private heapUsed = 0;
  private admittedSinceSample = 0;
  private refusedCount = 0;

  constructor(
    readonly budgetBytes: number,
    private readonly sampleMs = 50,
    private readonly heapUsedNow: () => number = () => getHeapStatistics().used_heap_size,
  ) {}

  /** The default budget: 70% of this process's V8 heap limit (set with --max-old-space-size). */
  static defaultBudgetBytes(): number {
    return Math.floor(getHeapStatistics().heap_size_limit * 0.7);
  }

  /** Refusal for a request (or an upload of `bytes` not read yet), or undefined to let it in. */
  admit(request: Request | undefined, bytes = 0): ProtocolError | undefined {
    const size = request === undefined ? bytes : addedChars(request);
    if (size === undefined) return undefined;
    const now = Date.now();
    if (now - this.sampledAt >= this.sampleMs) {
      this.sampledAt = now;
      this.heapUsed = this.heapUsedNow();
      this.admittedSinceSample = 0;
    }
    const projected = this.heapUsed + this.admittedSinceSample + size;
    if (projected > this.budgetBytes) {
      this.refusedCount++;
      const mb = (n: number) => Math.round(n / (1024 * 1024));
      return {
        status: 429,
        code: "RESOURCE_EXHAUSTED",
        message:
          `the node is at its memory budget (${mb(this.heapUsed)} MB in use of ${mb(this.budgetBytes)} MB, --memory-budget-mb); ` +
          `nothing was written: retry later, or settle or remove promises (see --retention-ms)`,
      };
    }
    this.admittedSinceSample += size;
    return undefined;
  }

  stats(): MemoryStats {
    return { budgetBytes: this.budgetBytes, heapUsedBytes: this.heapUsed, refused: this.refusedCount };
  }
}

/** Characters of payload (data, headers, tags) a request carries: what it adds to the heap, roughly. */
function payloadChars(request: Request): number {
  return charsIn(request.data, 0);
}

function charsIn(v: unknown, depth: number): number {
  if (typeof v === "string") return v.length;
  if (v === null || typeof v !== "object" || depth >= 6) return 0;
  let n = 0;
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) n += charsIn(v[i], depth + 1);
  else for (const key in v) n += charsIn((v as Record<string, unknown>)[key], depth + 1);
  return n;
}

/**
 * The payload characters of a request that adds records (creates) or a large
 * value; undefined for one that does not (reads, leases, small settles),
 * whose payload is not even measured.
 */
function addedChars(request: Request): number | undefined {
  switch (request.kind) {
    case "promise.create":
    case "task.create":
    case "schedule.create":
    case "promise.register_callback":
    case "promise.register_listener":
      return payloadChars(request);
    case "task.fence":
      return addsOrLarge(request, request.data.action.kind === "promise.create");
    case "task.fence_batch":
      return addsOrLarge(request, request.data.actions.some((a) => a.kind === "promise.create"));
    case "task.fulfill":
      return addsOrLarge(request, request.data.actions?.some((a) => a.kind === "promise.create") === true);
    case "promise.settle":
      return addsOrLarge(request, false);
    default:
      return undefined;
  }
}

/** The request's payload when it creates records or carries more than a small value. */
function addsOrLarge(request: Request, creates: boolean): number | undefined {
  const size = payloadChars(request);
  return creates || size > SMALL_VALUE ? size : undefined;
}
