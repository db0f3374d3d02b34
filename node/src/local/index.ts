// @resonate-mesh/node/local: a node inside this process. `createMeshNode`
// assembles it as a node process does (the same composition, mesh/compose.ts)
// over any store (the memory store for local mode); it runs the same protocol
// code; requests go to `handle`, worker messages come from `poll`. Clocks are
// injected so tests drive time by hand.

export { MeshNode, type MeshNodeStats } from "../mesh/node.ts";
export { createMeshNode, type MeshNodeOptions } from "../mesh/compose.ts";
export type { Engine, Subscription, WorkerSink } from "../mesh/engine.ts";
export { ManualClock, systemClock, type Clock } from "../mesh/clock.ts";
