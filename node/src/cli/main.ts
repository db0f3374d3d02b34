// Entry point of the `resonate` bin (node/bin/resonate.js loads its compiled form, dist/cli/main.js).

import { buildProgram } from "./program.ts";

await buildProgram().parseAsync(process.argv);
