// How many records are in each state, kept current from a change feed so
// /metrics reads the counts without a scan. The counter holds no record:
// each change moves one record from its old state to its new one, and the
// old state is kept by whoever already holds something per record (the
// search view keeps a task's state in a byte of its promise's slot), so
// counting costs no map entry per record.

/** "No state": the record did not exist, or was deleted. */
export const NO_STATE = 0;

export class StateCounts {
  /** Records per state code (index 0, NO_STATE, is not counted). */
  private readonly counts: number[];
  private readonly codes: ReadonlyMap<string, number>;

  /** `states`: every state the records may be in; their codes are 1, 2, ... in this order. */
  constructor(private readonly states: readonly string[]) {
    this.counts = new Array<number>(states.length + 1).fill(0);
    this.codes = new Map(states.map((s, i) => [s, i + 1]));
  }

  /** The code of `state`; NO_STATE for none (or one outside the list, which is not counted). */
  code(state: string | undefined): number {
    return state === undefined ? NO_STATE : (this.codes.get(state) ?? NO_STATE);
  }

  /** One record went from state code `from` to `to` (NO_STATE: it did not exist / no longer does). */
  move(from: number, to: number): void {
    if (from === to) return;
    if (from !== NO_STATE) this.counts[from]!--;
    if (to !== NO_STATE) this.counts[to]!++;
  }

  /** Records per state, every state listed (0 when none). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    this.states.forEach((state, i) => (out[state] = this.counts[i + 1]!));
    return out;
  }
}
