// @resonate-mesh/node/store: the store contract every engine implements
// (multi-key compare-and-set, a watch of changes, listing) and the embedded
// memory engine.

export { ConflictError, type Change, type CommitOp, type Entry, type ListOptions, type ReadOptions, type Store } from "./types.ts";
export { MemoryStore } from "./memory.ts";
export { JetStreamStore, MIN_NATS_VERSION, type JetStreamStoreOptions, type JetStreamStoreStats } from "./jetstream.ts";
export { StoreRefusedError, StoreUnavailableError } from "./errors.ts";
