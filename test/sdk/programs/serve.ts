// The end of every worker program here: announce "ready <pid>" once the
// worker is reachable, and stop it gracefully on SIGTERM.

import type { Context, Resonate } from "@resonate-mesh/sdk";

async function ping(_ctx: Context) {
  return "pong";
}

export async function announceReady(resonate: Resonate): Promise<void> {
  // Ready means reachable: a call addressed to this process alone has come back.
  resonate.register(ping);
  await resonate.rpc(`ready-${resonate.pid}`, "ping").target(`poll://uni@${resonate.group}/${resonate.pid}`);
  process.on("SIGTERM", () => {
    void resonate.stop().then(() => process.exit(0));
  });
  console.log(`ready ${resonate.pid}`);
}
