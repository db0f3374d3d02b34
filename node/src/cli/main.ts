// Entry point of the `resonate` bin (node/bin/resonate.js loads it through tsx).

import { buildProgram } from "./program.ts";

await buildProgram().parseAsync(process.argv);
