// The same unary call through the two gRPC clients the SDK could use: the
// hand-written HTTP/2 unary client (UnaryChannel) and @connectrpc/connect-node's
// gRPC transport. One client per row, shared by every loop (as a worker shares
// one), one HTTP/2 connection each. The call is PromiseService.Get of one
// existing promise: cheap for the node, so the "client CPU µs/op" column is
// what the client itself costs per call (encode, HTTP/2, decode).

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { methodPath, UnaryChannel } from "@resonate-mesh/node/client";
import {
  PromiseService,
  PromiseServiceGetRequestSchema,
  PromiseServiceGetResponseSchema,
} from "@resonate-mesh/node/proto";
import { closedLoop } from "../lib/measure.ts";
import type { RunContext, Workload } from "../lib/types.ts";

const GET = methodPath(PromiseService.method.get);

interface UnaryClient {
  get(id: string): Promise<unknown>;
  create(id: string): Promise<unknown>;
  close(): void;
}

function handWritten(address: string): UnaryClient {
  const channel = new UnaryChannel(address, { maxConnections: 1, callsPerConnection: 1_000 });
  const createPath = methodPath(PromiseService.method.create);
  return {
    get: async (id) => {
      const bytes = toBinary(PromiseServiceGetRequestSchema, create(PromiseServiceGetRequestSchema, { id }));
      return fromBinary(PromiseServiceGetResponseSchema, await channel.call(GET, bytes));
    },
    create: (id) => {
      const request = create(PromiseService.method.create.input, { id, timeoutAt: BigInt(Date.now() + 3_600_000) });
      return channel.call(createPath, toBinary(PromiseService.method.create.input, request));
    },
    close: () => channel.close(),
  };
}

function connect(address: string): UnaryClient {
  const client = createClient(PromiseService, createGrpcTransport({ baseUrl: `http://${address}` }));
  return {
    get: (id) => client.get({ id }),
    create: (id) => client.create({ id, timeoutAt: BigInt(Date.now() + 3_600_000) }),
    close: () => {},
  };
}

function unaryWorkload(name: string, make: (address: string) => UnaryClient): Workload {
  return {
    name,
    operation: "PromiseService.Get of an existing promise (1 RPC), all loops sharing one client and one HTTP/2 connection",
    concurrency: [1, 16],
    run: async (ctx: RunContext) => {
      const client = make(ctx.address);
      const id = `${ctx.prefix}-p`;
      await client.create(id);
      try {
        return await closedLoop(ctx, () => ({ op: async () => void (await client.get(id)), close: () => {} }));
      } finally {
        client.close();
      }
    },
  };
}

export const handWrittenUnary = unaryWorkload("unary: hand-written", handWritten);
export const connectUnary = unaryWorkload("unary: connect-node", connect);
