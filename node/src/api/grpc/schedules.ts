// ScheduleService: unary calls straight onto the protocol.

import type { ScheduleService } from "../../gen/resonate/mesh/v1/schedule_service_pb.ts";
import { unary, type HandlerContext } from "./handler.ts";
import type { ServiceImplementation } from "./service.ts";

export function scheduleService(ctx: HandlerContext): ServiceImplementation<(typeof ScheduleService)["method"]> {
  return {
    get: unary(ctx, "schedule.get"),
    create: unary(ctx, "schedule.create"),
    delete: unary(ctx, "schedule.delete"),
    search: unary(ctx, "schedule.search"),
  };
}
