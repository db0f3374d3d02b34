// grpc.health.v1.Health: SERVING for the whole server ("") and each of our
// services while the node serves; NOT_SERVING once it starts shutting down,
// so load balancers stop sending work before connections close.

import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckResponse,
} from "../../gen/grpc/health/v1/health_pb.ts";
import type { ServiceImplementation } from "./service.ts";

type Listener = (status: ServingStatus) => void;

export class HealthState {
  private serving = true;
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly services: readonly string[],
    private readonly ready: () => boolean = () => true,
  ) {}

  statusOf(service: string): ServingStatus | undefined {
    if (service !== "" && !this.services.includes(service)) return undefined;
    return this.serving && this.ready() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  /** Everything stops serving (shutdown). */
  stopServing(): void {
    if (!this.serving) return;
    this.serving = false;
    for (const listener of [...this.listeners]) listener(ServingStatus.NOT_SERVING);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function response(status: ServingStatus): HealthCheckResponse {
  return create(HealthCheckResponseSchema, { status });
}

export function healthService(state: HealthState): ServiceImplementation<(typeof Health)["method"]> {
  return {
    check: (call, callback) => {
      const status = state.statusOf(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        return;
      }
      callback(null, response(status));
    },
    watch: (call) => {
      const service = call.request.service;
      const current = state.statusOf(service);
      call.write(response(current ?? ServingStatus.SERVICE_UNKNOWN));
      // Known services only change once, to NOT_SERVING, and then the stream ends.
      const unsubscribe = state.subscribe((status) => {
        if (state.statusOf(service) === undefined) return;
        unsubscribe();
        call.write(response(status));
        call.end();
      });
      call.on("cancelled", unsubscribe);
    },
  };
}
