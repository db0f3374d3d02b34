// The node's raw write path over gRPC: create a promise, then resolve it.
// Each client has its own channel (its own HTTP/2 connection), as separate
// users would.

import { createClient } from "@resonate-mesh/node/api/grpc/service";
import { PromiseService } from "@resonate-mesh/node/gen/resonate/mesh/v1/promise_service_pb";
import { SettleState } from "@resonate-mesh/node/gen/resonate/mesh/v1/records_pb";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

const payload = new TextEncoder().encode(JSON.stringify({ func: "bench", args: [1, 2, 3], version: 1 }));

export const workload: Workload = {
  name: "create+settle",
  operation: "PromiseService.Create then PromiseService.Settle of a new promise (2 RPCs)",
  concurrency: [1, 64],
  run: (ctx) =>
    closedLoop(ctx, (index) => {
      const client = createClient(PromiseService, ctx.address, {
        channelOptions: { "grpc.use_local_subchannel_pool": 1 },
      });
      return {
        op: async (seq) => {
          const id = `${ctx.prefix}-${index}-${seq}`;
          await client.create({ id, timeoutAt: BigInt(Date.now() + 3_600_000), param: { data: payload } });
          await client.settle({ id, state: SettleState.RESOLVED, value: { data: payload } });
        },
        close: () => client.close(),
      };
    }),
};
