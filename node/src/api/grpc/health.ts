// grpc.health.v1.Health: SERVING for the whole server ("") and each of our
// services while the node serves; NOT_SERVING while it is not ready (its
// store unreachable) and once it starts shutting down, so load balancers stop
// sending work before connections close. Watch streams every change: readiness
// is looked at every `pollMs` while someone watches, since the store says
// nothing when it comes and goes.

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

/** How often readiness is looked at while a Watch is open. */
const READY_POLL_MS = 250;

export class HealthState {
  private serving = true;
  private readonly listeners = new Set<Listener>();
  private poll?: NodeJS.Timeout;
  private last?: ServingStatus;

  constructor(
    private readonly services: readonly string[],
    private readonly ready: () => boolean = () => true,
    private readonly pollMs = READY_POLL_MS,
  ) {}

  statusOf(service: string): ServingStatus | undefined {
    if (service !== "" && !this.services.includes(service)) return undefined;
    return this.serving && this.ready() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  /** Everything stops serving (shutdown). */
  stopServing(): void {
    if (!this.serving) return;
    this.serving = false;
    this.stopPolling();
    this.last = ServingStatus.NOT_SERVING;
    for (const listener of [...this.listeners]) listener(ServingStatus.NOT_SERVING);
  }

  get shuttingDown(): boolean {
    return !this.serving;
  }

  /** Called with each change of the server's status (readiness, shutdown). */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.poll === undefined && this.serving) {
      this.last = this.statusOf("");
      this.poll = setInterval(() => this.check(), this.pollMs);
      this.poll.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  private check(): void {
    const now = this.statusOf("");
    if (now === this.last) return;
    this.last = now;
    for (const listener of [...this.listeners]) listener(now!);
  }

  private stopPolling(): void {
    if (this.poll !== undefined) clearInterval(this.poll);
    this.poll = undefined;
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
      if (current === undefined) {
        return;
      }
      // Every change of readiness; at shutdown the last one, NOT_SERVING, and the stream ends.
      const unsubscribe = state.subscribe((status) => {
        call.write(response(status));
        if (state.shuttingDown) {
          unsubscribe();
          call.end();
        }
      });
      call.on("cancelled", unsubscribe);
    },
  };
}
