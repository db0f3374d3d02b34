// @resonate-mesh/node/protocol: the Resonate protocol as data and pure rules.
// Records, requests, responses and messages; the ids, addresses and
// configuration every client and engine agrees on; validation and the state
// machine itself (request + records + now -> new records + response). No I/O.

export * from "./types.ts";
export { defaultProtocolConfig, resolveConfig, type ProtocolConfig } from "./config.ts";
export { childId, isDescendantOrSelf, originOf, sameOrigin } from "./ids.ts";
export { formatAddress, parseAddress, type Address } from "./address.ts";
export { KINDS, validateRequest } from "./validate.ts";
export { transition, type SearchKind, type TransitionKind } from "./transition.ts";
export { scopeRequest, touchedIds, TOUCHING_KINDS, type TouchedId, type TouchMode } from "./touches.ts";
export { OUTBOX_PREFIX, RECEIPT_PREFIX, partitionOf, partitionOfId, promiseKey, scheduleKey, taskKey, treeRootOf } from "./keys.ts";
export { applyOutboxEntry, homeIdOf, type Effect, type Locality, type OutboxEntry } from "./outbox.ts";
export { MAX_FENCE_BATCH } from "./fence-batch.ts";
