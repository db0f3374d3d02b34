// A linearizability checker in the manner of Wing & Gong and Porcupine: is
// there an order of a history's operations, each taking effect at one
// instant between its invocation and its response, in which a sequential
// model gives every recorded answer? Depth-first search over "which operation
// takes effect next", memoising (operations done, model state) pairs already
// explored. An operation that got no answer (its node was killed) may have
// taken effect at any time after its invocation, or never: the search may
// place it anywhere after its call, with whatever answer the model gives, or
// leave it out.
//
// The protocol model for one promise id (promiseModel) runs the node's own
// pure state machine (`transition` from @resonate-mesh/node/protocol).

import { transition, type PromiseRecord, type Request, type Response, type StoredPromise } from "@resonate-mesh/node/protocol";

export interface Operation<I, O> {
  /** When the client sent it (a monotonic clock, e.g. performance.now()). */
  call: number;
  /** When the answer came; undefined when none came (it may or may not have happened). */
  ret?: number;
  input: I;
  /** The recorded answer (ignored without `ret`). */
  output?: O;
}

export interface Model<S, I, O> {
  init: S;
  /** The state after `input` and the answer the sequential model gives. */
  step(state: S, input: I): { state: S; output: O };
  /** Does the recorded answer match the model's? */
  matches(recorded: O, modelled: O): boolean;
  /** A canonical key of a state (for memoisation). */
  key(state: S): string;
}

export type CheckResult = { ok: true; order: number[] } | { ok: false; reason: string };

/** Is `history` linearizable with respect to `model`? (Bounded: at most `maxSteps` search steps.) */
export function checkLinearizable<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], maxSteps = 2_000_000): CheckResult {
  const n = history.length;
  if (n > 60) throw new Error(`checkLinearizable: ${n} operations on one key; split the history per key (at most 60)`);
  const answered = history.map((op) => op.ret !== undefined);
  const mustDo = history.reduce((mask, op, i) => (answered[i] ? mask | (1n << BigInt(i)) : mask), 0n);
  const seen = new Set<string>();
  const order: number[] = [];
  let steps = 0;
  let deepest: number[] = [];

  const search = (done: bigint, state: S): boolean => {
    if ((done & mustDo) === mustDo) return true;
    const memo = `${done.toString(36)}|${model.key(state)}`;
    if (seen.has(memo)) return false;
    seen.add(memo);
    if (++steps > maxSteps) throw new Error(`checkLinearizable: more than ${maxSteps} search steps`);
    // Whatever is not done and answered earliest bounds what may come next: nothing invoked after it.
    let horizon = Infinity;
    for (let i = 0; i < n; i++) if (!(done & (1n << BigInt(i))) && answered[i] && history[i]!.ret! < horizon) horizon = history[i]!.ret!;
    for (let i = 0; i < n; i++) {
      const bit = 1n << BigInt(i);
      if (done & bit) continue;
      const op = history[i]!;
      if (op.call > horizon) continue;
      const next = model.step(state, op.input);
      if (answered[i] && !model.matches(op.output as O, next.output)) continue;
      order.push(i);
      if (order.length > deepest.length) deepest = [...order];
      if (search(done | bit, next.state)) return true;
      order.pop();
    }
    return false;
  };

  if (search(0n, model.init)) return { ok: true, order: [...order] };
  const stuck = history.map((_, i) => i).filter((i) => !deepest.includes(i) && answered[i]);
  return {
    ok: false,
    reason:
      `no order explains the answers; the longest consistent prefix is [${deepest.join(", ")}], ` +
      `after which none of [${stuck.join(", ")}] can take effect with its recorded answer`,
  };
}

// ------------------------------------------------------------ the protocol model

/** The requests the linearizability test sends about one promise. */
export type PromiseInput =
  | { kind: "promise.create"; id: string; timeoutAt: number; param: string; now: number }
  | { kind: "promise.settle"; id: string; state: "resolved" | "rejected"; value: string; now: number }
  | { kind: "promise.get"; id: string; now: number };

/** What an answer says, in the terms the model decides: status, state, param and value. Node timestamps are left out. */
export interface PromiseOutput {
  status: number;
  state?: PromiseRecord["state"];
  param?: string;
  value?: string;
}

// Params and values are plain text in histories, base64 on the protocol.
const b64 = (t: string): string => Buffer.from(t).toString("base64");
const text = (data: string | undefined): string | undefined => (data === undefined ? undefined : Buffer.from(data, "base64").toString());

function request(input: PromiseInput): Request {
  switch (input.kind) {
    case "promise.create":
      return { kind: "promise.create", data: { id: input.id, timeoutAt: input.timeoutAt, param: { headers: {}, data: b64(input.param) } } };
    case "promise.settle":
      return { kind: "promise.settle", data: { id: input.id, state: input.state, value: { headers: {}, data: b64(input.value) } } };
    case "promise.get":
      return { kind: "promise.get", data: { id: input.id } };
  }
}

export function toRequest(input: PromiseInput): Request {
  return request(input);
}

/** The decided part of an answer (a response of the protocol, from the node or the model). */
export function outputOf(response: Response): PromiseOutput {
  if (response.status !== 200) return { status: response.status };
  const promise = (response as { data?: { promise?: PromiseRecord } }).data?.promise;
  return { status: 200, state: promise?.state, param: text(promise?.param.data), value: text(promise?.value.data) };
}

/** One promise id under the sequential protocol: the node's own pure state machine. */
export const promiseModel: Model<StoredPromise | undefined, PromiseInput, PromiseOutput> = {
  init: undefined,
  step(state, input) {
    const snapshot = {
      promise: (id: string) => (id === input.id ? state : undefined),
      task: () => undefined,
      schedule: () => undefined,
      branch: () => [],
    };
    const t = transition(snapshot, request(input), input.now);
    let next = state;
    for (const w of t.writes) if (w.type === "promise" && w.record.id === input.id) next = w.record;
    return { state: next, output: outputOf(t.response) };
  },
  matches(recorded, modelled) {
    return (
      recorded.status === modelled.status && recorded.state === modelled.state && recorded.param === modelled.param && recorded.value === modelled.value
    );
  },
  key(state) {
    return state === undefined ? "-" : `${state.state}|${state.param.data}|${state.value.data}`;
  },
};
