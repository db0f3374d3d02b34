// The caller of the trace test, its own process: starts the workflow on the
// worker group, prints its result, and stops (which flushes its spans).

import { Resonate } from "@resonate-mesh/sdk";

const resonate = new Resonate({ url: process.env.RESONATE_URL!, group: "trace-callers" });
const result = await resonate.rpc<number>(process.env.TRACE_ID!, "tracedWorkflow", 3).target(`poll://any@${process.env.TRACE_GROUP!}`);
console.log(`result ${result}`);
await resonate.stop();
