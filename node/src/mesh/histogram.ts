// A latency histogram kept as plain numbers: observing is a few comparisons
// and two additions on the request path, with no label hashing; the metrics
// endpoint renders it in the Prometheus format at scrape time.

/** Upper bounds (seconds) for request and commit latencies: 0.1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] as const;

/** Upper bounds (seconds) for how late a timer fired: 1 ms to 5 min. */
export const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

export class Histogram {
  /** Non-cumulative counts per bucket; the last one is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}
