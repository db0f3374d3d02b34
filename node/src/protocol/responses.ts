// Building answers. Error messages are sentences a person can act on.

import type { ErrorCode, ErrorStatus, Kind, OkStatus, ProtocolError, Response, ResponseDataMap } from "./types.ts";

export function ok<K extends Kind>(kind: K, data: ResponseDataMap[K], status: OkStatus = 200): Response<K> {
  return { kind, status, data };
}

export function fail<K extends Kind>(kind: K, error: ProtocolError): Response<K> {
  return { kind, status: error.status, error };
}

export function protocolError(status: ErrorStatus, code: ErrorCode, message: string, field?: string): ProtocolError {
  return field === undefined ? { status, code, message } : { status, code, message, field };
}

export const errors = {
  promiseNotFound: (id: string) => protocolError(404, "PROMISE_NOT_FOUND", `promise "${id}" does not exist`),
  taskNotFound: (id: string) => protocolError(404, "TASK_NOT_FOUND", `task "${id}" does not exist`),
  scheduleNotFound: (id: string) => protocolError(404, "SCHEDULE_NOT_FOUND", `schedule "${id}" does not exist`),
  taskState: (id: string, state: string, wanted: string) =>
    protocolError(409, "TASK_STATE_CONFLICT", `task "${id}" is ${state}, but this operation needs it ${wanted}`),
  taskVersion: (id: string, current: number, asked: number) =>
    protocolError(
      409,
      "TASK_VERSION_MISMATCH",
      `task "${id}" is at version ${current}, not ${asked}: another attempt holds or held it`,
    ),
  taskExists: (id: string, state: string) =>
    protocolError(409, "TASK_ALREADY_EXISTS", `task "${id}" already exists and is ${state}`),
  awaiterNotFound: (id: string) =>
    protocolError(422, "AWAITER_NOT_FOUND", `awaiter promise "${id}" does not exist`),
  awaiterNotTargeted: (id: string) =>
    protocolError(
      422,
      "AWAITER_NOT_TARGETED",
      `awaiter promise "${id}" has no task to resume (it carries no resonate:target tag)`,
    ),
  promiseWithoutTask: (id: string) =>
    protocolError(
      422,
      "PROMISE_WITHOUT_TASK",
      `promise "${id}" already exists without a task (it was created without resonate:target)`,
    ),
  awaitedNotFound: (id: string) =>
    protocolError(422, "AWAITED_NOT_FOUND", `awaited promise "${id}" does not exist`),
};
