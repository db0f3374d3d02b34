// Typed failures of a store engine, each with a stable code, for the node's
// start-up (refuse, or retry) and for answers (UNAVAILABLE).

/** The store cannot be reached or did not answer; the outcome of a write in flight is unknown. */
export class StoreUnavailableError extends Error {
  readonly code = "STORE_UNAVAILABLE";
  override name = "StoreUnavailableError";
}

/** The store is there but will not work with this node (a setting to change, not a wait): do not retry. */
export class StoreRefusedError extends Error {
  override name = "StoreRefusedError";
  constructor(
    readonly code: "NATS_TOO_OLD" | "PARTITION_MISMATCH" | "LAYOUT_MISMATCH" | "BAD_STORE_OPTION",
    message: string,
  ) {
    super(message);
  }
}
