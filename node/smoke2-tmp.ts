import { NodeClient } from "@resonate-mesh/node/client";
const port = process.argv[2];
const c = new NodeClient({ address: `127.0.0.1:${port}` });
try { console.log(await c.call({ kind: "promise.get", data: { id: "x" } } as never)); } catch (e) { console.log("ERR", (e as any).code, (e as any).details); }
c.close();
