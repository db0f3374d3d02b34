// How many records are in each state, kept current from a change feed (one
// map update per change) so /metrics reads the counts without a scan.

export class StateCounts {
  /** The state each record is in now, by store key (the key the feed already holds, not a copy). */
  private readonly states = new Map<string, string>();
  private readonly counts = new Map<string, number>();

  /** `key` is now in `state`; undefined when it was deleted. */
  set(key: string, state: string | undefined): void {
    const prev = this.states.get(key);
    if (prev === state) return;
    if (prev !== undefined) this.counts.set(prev, this.counts.get(prev)! - 1);
    if (state === undefined) {
      this.states.delete(key);
      return;
    }
    this.states.set(key, state);
    this.counts.set(state, (this.counts.get(state) ?? 0) + 1);
  }

  /** Records per state (states seen once and now empty report 0). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
