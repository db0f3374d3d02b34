// @resonate-mesh/sdk: durable functions, workers and replay.

export { Resonate, ClientCall, ScheduleCall, type ResonateOptions, type LocalOptions } from "./resonate.ts";
export {
  Context,
  DurableFuture,
  RunCall,
  RpcCall,
  SleepCall,
  LatentCall,
  type Info,
  type LatentOptions,
} from "./context.ts";
export { ExecutionHandle, ScheduleHandle } from "./handles.ts";
export { DurablePromise, type CreatePromiseOptions, type SearchPromisesOptions } from "./promises.ts";
export type { CreateScheduleOptions, SearchSchedulesOptions } from "./schedules.ts";
export { Retry, type RetryPolicy } from "./options/retry.ts";
export { JsonCodec, defaultCodec, type Codec } from "./codec.ts";
export type { RegisterOptions } from "./registry.ts";
export type { ConnectionConfig } from "./config.ts";
export type { DurableFunction } from "./types.ts";
export type { Transport } from "./transport/types.ts";
export { TransportError } from "./transport/types.ts";
export { LocalTransport } from "./transport/local.ts";
export {
  ResonateError,
  ServerError,
  PromiseTimedOutError,
  PromiseCanceledError,
  type ResonateErrorCode,
} from "./errors.ts";
