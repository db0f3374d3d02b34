/** The record kinds bench/memory/held.ts measures (see there). */
export const HELD_KINDS = ["plain", "sdk-call", "task"] as const;
export type HeldKind = (typeof HELD_KINDS)[number];
