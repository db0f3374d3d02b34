// @resonate-mesh/node/local: a node inside this process. MeshNode runs the
// same protocol code a node process runs, on any store (the memory store for
// local mode); requests go to `handle`, worker messages come from `poll`.
// Clocks are injected so tests drive time by hand.

export { MeshNode, type MeshNodeOptions, type MeshNodeStats } from "../mesh/node.ts";
export type { Engine, Subscription, WorkerSink } from "../mesh/engine.ts";
export { ManualClock, systemClock, type Clock } from "../mesh/clock.ts";
