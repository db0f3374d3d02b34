// A worker of the official Resonate TypeScript SDK with `token` set, as a user
// of an authenticated node writes it. (SDK 0.11.5 reads RESONATE_TOKEN for its
// requests but not for its SSE worker stream, so the token is passed explicitly.)
//   RESONATE_URL  the node    GROUP  worker group    TOKEN  bearer token
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };

import { Resonate } from "@resonatehq/sdk";

const group = process.env.GROUP ?? "workers";
const resonate = new Resonate({ group, ttl: 2000, token: process.env.TOKEN });

function add(ctx, a, b) {
  return a + b;
}

// A local step, a durable sleep and an rpc to this worker's group.
function* wf(ctx, n, sleepMs) {
  const a = yield* ctx.run((c, x) => x + 1, n);
  yield* ctx.sleep(sleepMs);
  return yield* ctx.rpc("add", a, 10, ctx.options({ target: group }));
}

resonate.register("add", add);
resonate.register("wf", wf);

const stop = async () => {
  await resonate.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
console.log(`ready ${group} ${resonate.pid}`);
