// Every workload of the table, in row order; the raw JetStream ceiling runs
// only against a JetStream store. Add a workload here to add its rows.

import type { Workload } from "../lib/types.ts";
import { workload as createSettle } from "./create-settle.ts";
import { workload as crossTreeWake } from "./cross-tree-wake.ts";
import { workload as jetstreamRaw } from "./jetstream-raw.ts";
import { workload as officialThreeStep } from "./official-sdk-three-step.ts";
import { workload as sdkFanOut } from "./sdk-fan-out.ts";
import { workload as sdkThreeStep } from "./sdk-three-step.ts";
import { connectUnary, handWrittenUnary } from "./unary-clients.ts";

export { createSettle, jetstreamRaw };

export const workloads: Workload[] = [createSettle, handWrittenUnary, connectUnary, sdkThreeStep, officialThreeStep, sdkFanOut, crossTreeWake];

/** Every workload, the raw ceiling first: the order of the table's legend. */
export const allWorkloads: Workload[] = [jetstreamRaw, ...workloads];

/** The workloads a store's rows run: the raw ceiling only on JetStream. */
export function workloadsFor(natsUrl: string | undefined): Workload[] {
  return natsUrl === undefined ? workloads : allWorkloads;
}
