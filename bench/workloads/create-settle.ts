// The node's raw write path over gRPC: create a promise, then resolve it.
// Each client has its own channel (its own HTTP/2 connection), as separate
// users would. The channel is the lean unary client the SDK uses, so the
// row measures the node rather than a heavy client in the bench process
// (grpc-js's client spent more CPU per call here than the node did).

import { create, toBinary } from "@bufbuild/protobuf";
import { methodPath } from "@resonate-mesh/node/client";
import { UnaryChannel } from "@resonate-mesh/node/client";
import {
  PromiseService,
  PromiseServiceCreateRequestSchema,
  PromiseServiceSettleRequestSchema,
} from "@resonate-mesh/node/proto";
import { SettleState } from "@resonate-mesh/node/proto";
import { closedLoop } from "../lib/measure.ts";
import type { Workload } from "../lib/types.ts";

const payload = new TextEncoder().encode(JSON.stringify({ func: "bench", args: [1, 2, 3], version: 1 }));
const CREATE = methodPath(PromiseService.method.create);
const SETTLE = methodPath(PromiseService.method.settle);

export const workload: Workload = {
  name: "create+settle",
  operation: "PromiseService.Create then PromiseService.Settle of a new promise (2 RPCs)",
  concurrency: [1, 64],
  run: (ctx) =>
    closedLoop(ctx, (index) => {
      const channel = new UnaryChannel(ctx.address, { maxConnections: 1 });
      return {
        op: async (seq) => {
          const id = `${ctx.prefix}-${index}-${seq}`;
          const createRequest = create(PromiseServiceCreateRequestSchema, {
            id,
            timeoutAt: BigInt(Date.now() + 3_600_000),
            param: { data: payload },
          });
          await channel.call(CREATE, toBinary(PromiseServiceCreateRequestSchema, createRequest));
          const settleRequest = create(PromiseServiceSettleRequestSchema, {
            id,
            state: SettleState.RESOLVED,
            value: { data: payload },
          });
          await channel.call(SETTLE, toBinary(PromiseServiceSettleRequestSchema, settleRequest));
        },
        close: () => channel.close(),
      };
    }),
};
