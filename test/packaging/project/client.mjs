// Invoke `greet` on whichever worker serves it and print the result.
import { Resonate } from "@resonate-mesh/sdk";

const [id, name] = process.argv.slice(2);
const resonate = new Resonate({ url: process.env.RESONATE_URL ?? "http://localhost:8001" });
try {
  console.log(await resonate.rpc(id, "greet", name));
} finally {
  await resonate.stop();
}
