// The Resonate JSON envelope protocol (2026-04-01) on POST /: one endpoint,
// a body `{kind, head: {corrId, version}, data}`, an answer
// `{kind, head: {corrId, status, version}, data}` whose HTTP status equals
// head.status. This is a thin adapter: decode, Engine.handle, encode. The
// protocol rules live in protocol/ and serve gRPC through the same Engine.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Engine } from "../../mesh/engine.ts";
import type { Kind, PromiseRecord, Response, ResponseDataMap } from "../../protocol/types.ts";
import { PROTOCOL_VERSION } from "../../protocol/types.ts";
import { BodyTooLargeError, readBody } from "./body.ts";
import { checkJsonContentType } from "./guard.ts";
import { parseJson, stringifyJson } from "./json.ts";
import { decodeEnvelope, echoOf, EnvelopeError, isDebug, type DecodedEnvelope } from "./decode.ts";
import { toWirePromise, toWireSchedule, toWireTask } from "./wire.ts";
import { authorize, bearerToken, envelopeToken, isPrincipal, isRequest, OPEN, type Authenticator, type Principal } from "../auth.ts";
import { traceRequest } from "../../telemetry/requests.ts";
import { tracingActive } from "../../telemetry/tracing.ts";

export interface EnvelopeOptions {
  /** Largest request body accepted; larger ones get a 413 and nothing is read further. Default 8 MiB. */
  maxBodyBytes?: number;
  /** Serve debug.* kinds (else 403). */
  debug?: boolean;
  logger?: Logger;
  /** Verifies the bearer token of every envelope (head.auth, else the Authorization header); absent, the node is open. */
  auth?: Authenticator;
}

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface ResponseEnvelope {
  kind: string;
  head: { corrId: string; status: number; version: string };
  data: unknown;
}

export function createEnvelopeHandler(engine: Engine, options: EnvelopeOptions = {}) {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const debug = options.debug ?? false;
  const logger = options.logger;
  const auth = options.auth;

  return (req: IncomingMessage, res: ServerResponse): void => {
    void serve(req, res).catch((error: unknown) => {
      // A failed read or write lands here (the client went away mid-request), or a bug: then the
      // client still gets an answer instead of waiting for its own timeout.
      logger?.warn({ err: error }, "envelope request ended before it was answered");
      if (!res.headersSent && res.writable) {
        const reason = error instanceof Error ? error.message : String(error);
        send(res, errorEnvelope("", "", 500, `the node failed to process the request: ${reason}`));
      }
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST") {
      send(res, errorEnvelope("", "", 405, `use POST with a JSON envelope {kind, head, data}; ${req.method} is not served here`), {
        allow: "POST",
      });
      return;
    }
    const notJson = checkJsonContentType(req.headers);
    if (notJson !== undefined) {
      // A body that is not declared JSON is a form post or a text/plain "simple request" a web page can send.
      send(res, errorEnvelope("", "", notJson.status, notJson.message), { connection: "close" });
      return;
    }
    // A large upload is weighed against the node's memory budget before it is read.
    const declared = Number(req.headers["content-length"]);
    const admit = (engine as { admit?: (bytes: number) => { status: number; message: string } | undefined }).admit;
    if (admit !== undefined && Number.isFinite(declared) && declared > 64 * 1024) {
      const refusal = admit.call(engine, declared);
      if (refusal !== undefined) {
        // Discard the upload as it comes (nothing is kept), then answer: a client cut off mid-upload sees no answer at all.
        req.resume();
        await new Promise((resolve) => {
          req.once("end", resolve);
          req.once("close", resolve);
        });
        send(res, errorEnvelope("", "", refusal.status, refusal.message));
        return;
      }
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        // Stop reading: the connection closes after the answer instead of draining the upload.
        send(res, errorEnvelope("", "", 413, `${error.message}; send smaller payloads`), { connection: "close" });
        // Close fully once answered: the rest of the upload is never read.
        res.once("finish", () => req.socket.destroySoon());
        return;
      }
      throw error;
    }

    let body: unknown;
    try {
      body = parseJson(raw.toString("utf8"));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      send(res, errorEnvelope("", "", 400, `the request body is not valid JSON (${reason})`));
      return;
    }

    const echo = echoOf(body);
    let principal: Principal = OPEN;
    if (auth !== undefined) {
      // head.auth is where the official SDKs put the token; the header is what other HTTP clients send.
      const head = typeof body === "object" && body !== null ? (body as { head?: unknown }).head : undefined;
      const verified = await auth.admit(envelopeToken(head) ?? bearerToken(req.headers.authorization));
      if (!isPrincipal(verified)) {
        send(res, errorEnvelope(echo.kind, echo.corrId, verified.status, verified.message));
        return;
      }
      principal = verified;
    }
    let decoded: ReturnType<typeof decodeEnvelope>;
    try {
      decoded = decodeEnvelope(body);
    } catch (error) {
      if (error instanceof EnvelopeError) {
        send(res, errorEnvelope(echo.kind, echo.corrId, error.status, error.message));
        return;
      }
      throw error;
    }

    if (isDebug(decoded)) {
      const answer = debug
        ? errorEnvelope(decoded.kind, decoded.corrId, 501, `${decoded.kind} is not implemented by this node`)
        : errorEnvelope(decoded.kind, decoded.corrId, 403, `${decoded.kind} is only served when the node runs with --debug`);
      send(res, answer);
      return;
    }

    let request = decoded.request;
    if (!principal.admin) {
      const scoped = authorize(principal, request);
      if (!isRequest(scoped)) {
        send(res, errorEnvelope(decoded.kind, decoded.corrId, scoped.status, scoped.message));
        return;
      }
      request = scoped;
    }

    let answer: ResponseEnvelope;
    try {
      const admitted = request;
      const response = await (tracingActive() ? traceRequest(admitted, () => req.headers, () => engine.handle(admitted)) : engine.handle(admitted));
      answer = encodeResponse(decoded, response);
    } catch (error) {
      logger?.error({ err: error, kind: decoded.kind, corrId: decoded.corrId }, "request failed inside the node");
      const reason = error instanceof Error ? error.message : String(error);
      answer = errorEnvelope(decoded.kind, decoded.corrId, 500, `the node failed to process ${decoded.kind}: ${reason}`);
    }
    send(res, answer);
  }
}

/** The answer envelope for a protocol response (exported for tests and other HTTP entry points). */
export function encodeResponse(
  decoded: Pick<DecodedEnvelope, "kind" | "corrId" | "innerCorrId" | "innerCorrIds">,
  response: Response,
): ResponseEnvelope {
  if ("error" in response) return errorEnvelope(decoded.kind, decoded.corrId, response.status, response.error.message);
  if (decoded.kind === "task.fence_batch") {
    // Our extension: one answer envelope per action, in order, each echoing its action's corrId.
    const d = response.data as ResponseDataMap["task.fence_batch"];
    const actions = d.actions.map((a, i) => encodeResponse({ kind: a.kind, corrId: decoded.innerCorrIds?.[i] ?? decoded.corrId }, a));
    return { kind: decoded.kind, head: { corrId: decoded.corrId, status: response.status, version: PROTOCOL_VERSION }, data: { actions } };
  }
  return {
    kind: decoded.kind,
    head: { corrId: decoded.corrId, status: response.status, version: PROTOCOL_VERSION },
    data: encodeData(decoded.kind, response.status, response.data, decoded.innerCorrId ?? decoded.corrId, decoded.innerCorrIds),
  };
}

export function errorEnvelope(kind: string, corrId: string, status: number, message: string): ResponseEnvelope {
  return { kind, head: { corrId, status, version: PROTOCOL_VERSION }, data: message };
}

function encodeData(kind: Kind, status: number, data: unknown, innerCorrId: string, innerCorrIds?: string[]): unknown {
  switch (kind) {
    case "promise.get":
    case "promise.create":
    case "promise.settle":
    case "promise.register_callback":
    case "promise.register_listener": {
      const d = data as { promise: PromiseRecord };
      return { promise: toWirePromise(d.promise) };
    }
    case "task.fulfill": {
      const d = data as ResponseDataMap["task.fulfill"];
      if (d.actions === undefined) return { promise: toWirePromise(d.promise) };
      // Our extension: the carried writes' answers, as task.fence_batch's.
      const actions = d.actions.map((a, i) => encodeResponse({ kind: a.kind, corrId: innerCorrIds?.[i] ?? innerCorrId }, a));
      return { promise: toWirePromise(d.promise), actions };
    }
    case "promise.search": {
      const d = data as ResponseDataMap["promise.search"];
      return withCursor({ promises: d.promises.map(toWirePromise) }, d.cursor);
    }
    case "task.get": {
      const d = data as ResponseDataMap["task.get"];
      return { task: toWireTask(d.task) };
    }
    case "task.create":
    case "task.acquire": {
      const d = data as ResponseDataMap["task.acquire"];
      const out: Record<string, unknown> = { promise: toWirePromise(d.promise), preload: preload(d.preload) };
      if (d.task) out.task = toWireTask(d.task);
      return out;
    }
    case "task.suspend": {
      const d = data as ResponseDataMap["task.suspend"];
      // 300 means "keep going with these"; 200 means "suspended, drop the attempt".
      return status === 300 ? { preload: preload(d?.preload) } : {};
    }
    case "task.fence": {
      const d = data as ResponseDataMap["task.fence"];
      return { action: encodeResponse({ kind: d.action.kind, corrId: innerCorrId }, d.action), preload: preload(d.preload) };
    }
    case "task.search": {
      const d = data as ResponseDataMap["task.search"];
      return withCursor({ tasks: d.tasks.map(toWireTask) }, d.cursor);
    }
    case "schedule.get":
    case "schedule.create": {
      const d = data as ResponseDataMap["schedule.get"];
      return { schedule: toWireSchedule(d.schedule) };
    }
    case "schedule.search": {
      const d = data as ResponseDataMap["schedule.search"];
      return withCursor({ schedules: d.schedules.map(toWireSchedule) }, d.cursor);
    }
    case "task.fence_batch":
      // Encoded by encodeResponse, which knows each action's corrId.
      return data;
    case "task.release":
    case "task.heartbeat":
    case "task.halt":
    case "task.continue":
    case "schedule.delete":
      return {};
  }
}

function preload(records: PromiseRecord[] | undefined): unknown[] {
  return (records ?? []).map(toWirePromise);
}

function withCursor<T extends object>(out: T, cursor: string | undefined): T & { cursor?: string } {
  return typeof cursor === "string" && cursor.length > 0 ? { ...out, cursor } : out;
}

function send(res: ServerResponse, envelope: ResponseEnvelope, extraHeaders: Record<string, string> = {}): void {
  const text = stringifyJson(envelope);
  res.writeHead(envelope.head.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}
