// A span per request the node answers. Its parent is the trace context the
// caller sent with the request (gRPC metadata, HTTP headers), else the one in
// the headers of the promise the request writes, else the one of the
// promise it answers with (a task.acquire learns its trace from the root
// promise it hands out). The span is recorded once the answer is known, so
// that last source can be used; it carries the kind, the ids and the status.

import { ROOT_CONTEXT, SpanKind, SpanStatusCode, type Attributes } from "@opentelemetry/api";
import { touchedIds } from "../protocol/touches.ts";
import type { Request, Response } from "../protocol/types.ts";
import { traceContextOf, tracer, tracingActive } from "./tracing.ts";

const SCOPE = "@resonate-mesh/node";
/** Ids named in an attribute at most (a heartbeat may name thousands). */
const MAX_IDS = 20;

/**
 * Run `answer` for `request` and record its span (when tracing is on; off,
 * this is `answer()`). `carrier` reads the transport's headers, only when needed.
 */
export function traceRequest<R extends Response>(request: Request, carrier: () => Record<string, unknown> | undefined, answer: () => Promise<R>): Promise<R> {
  if (!tracingActive()) return answer();
  const startTime = performance.timeOrigin + performance.now();
  return answer().then(
    (response) => {
      record(request, carrier, startTime, response);
      return response;
    },
    (err: unknown) => {
      record(request, carrier, startTime, undefined, err);
      throw err;
    },
  );
}

function record(request: Request, carrier: () => Record<string, unknown> | undefined, startTime: number, response: Response | undefined, err?: unknown): void {
  const parent =
    traceContextOf(carrier()) ?? traceContextOf(promiseHeaders(request)) ?? traceContextOf(promiseHeaders(response)) ?? ROOT_CONTEXT;
  const kind = typeof request?.kind === "string" ? request.kind : "unknown";
  const attributes: Attributes = { "resonate.request.kind": kind };
  const ids = idsOf(request);
  if (ids.length > 0) {
    attributes["resonate.id"] = ids[0];
    attributes["resonate.ids"] = ids.slice(0, MAX_IDS);
  }
  if (response !== undefined) attributes["resonate.status"] = response.status;
  const span = tracer(SCOPE).startSpan(kind, { kind: SpanKind.SERVER, startTime, attributes }, parent);
  if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  else if (response !== undefined && response.status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: "error" in response ? response.error.message : String(response.status) });
  }
  span.end();
}

function idsOf(request: Request): string[] {
  try {
    return touchedIds(request).map((t) => t.value);
  } catch {
    return [];
  }
}

type Loose = Record<string, any> | undefined;

/** The headers of the promise a request writes or a response carries (create, task.create, fence, fence batch, get, acquire). */
function promiseHeaders(message: unknown): Record<string, unknown> | undefined {
  const data = (message as Loose)?.data as Loose;
  if (data === undefined || data === null || typeof data !== "object") return undefined;
  const candidates = [
    data.param,
    data.promise?.param,
    data.action?.data?.param,
    data.action?.data?.promise?.param,
    data.actions?.[0]?.data?.param,
    data.actions?.[0]?.data?.promise?.param,
  ];
  for (const param of candidates) {
    const headers = (param as Loose)?.headers;
    if (headers !== null && typeof headers === "object" && typeof headers.traceparent === "string") return headers as Record<string, unknown>;
  }
  return undefined;
}
