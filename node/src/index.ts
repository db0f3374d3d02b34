// @resonate-mesh/node: start a mesh node in this process. startNode assembles
// the store (embedded memory or NATS JetStream), the node with its timers,
// membership and dispatch, and the one-port gRPC + HTTP server: the same
// composition the `resonate` CLI, the container image and the tests use.

export { startNode, type NodeConfig, type RunningNode, type StoreConfig } from "./mesh/start.ts";
