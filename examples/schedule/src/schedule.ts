// Create the schedule on the node, then wait. The schedule lives on the node,
// not in this program: kill this program (kill -9) and the ticks go on. Stop it
// with Ctrl-C and it deletes the schedule on its way out: the ticks stop.

import { Resonate } from "@resonate-mesh/sdk";

const NAME = process.env.SCHEDULE_NAME ?? "daily-report";
// Six fields: the first is seconds. Every 10 s, so you see it work; a real
// report would be "0 9 * * *" (09:00 UTC every day).
const CRON = process.env.SCHEDULE_CRON ?? "*/10 * * * * *";

const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });

const schedule = await resonate
  .schedule(NAME, CRON, "sendReport", "the team")
  .target("workers")
  // Each tick's promise times out if no worker finishes it within a minute.
  .timeout(60_000);
console.log(`[schedule] ${schedule.id} created: "${CRON}" runs sendReport on a worker of group "workers"`);
console.log(`[schedule] press Ctrl-C to delete it`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void (async () => {
      await schedule.delete();
      console.log(`[schedule] ${schedule.id} deleted: no more ticks`);
      await resonate.stop();
      process.exit(0);
    })();
  });
}
// Nothing else to do: keep the process alive until a signal comes.
setInterval(() => undefined, 1 << 30);
