// The machine's pace: how fast this process runs a fixed piece of JavaScript
// (encode and decode a promise record, as the node does for every write).
// This machine's CPU speed swings up to 2x within minutes; a run's table is
// only comparable with another measured at a similar pace.

const RECORD = {
  id: "pace-workflow.1",
  state: "resolved",
  param: { headers: { "resonate:format": "json" }, data: "eyJmdW5jIjoiYmVuY2giLCJhcmdzIjpbMSwyLDNdfQ==" },
  value: { headers: {}, data: "InMxczJzMyI=" },
  tags: { "resonate:origin": "pace-workflow", "resonate:branch": "pace-workflow", "resonate:parent": "pace-workflow", "resonate:scope": "local" },
  timeoutAt: 1_800_000_000_000,
  createdAt: 1_700_000_000_000,
  settledAt: 1_700_000_000_100,
};

/** Round trips of the record through JSON a second, over `ms` milliseconds of this process's one thread. */
export function measurePace(ms = 1_000): number {
  roundTrips(300); // optimised first
  return roundTrips(ms);
}

function roundTrips(ms: number): number {
  let rounds = 0;
  let sink = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 200; i++) {
      const decoded = JSON.parse(JSON.stringify({ ...RECORD, id: `${RECORD.id}${i}` })) as typeof RECORD;
      sink += decoded.id.length;
    }
    rounds += 200;
    elapsed = performance.now() - started;
  }
  if (sink === 0) throw new Error("unreachable");
  return Math.round((rounds / elapsed) * 1000);
}
