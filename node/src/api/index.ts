// @resonate-mesh/node/server: serve an engine (a MeshNode) on one port, gRPC
// and the HTTP/1.1 side (JSON envelope protocol, SSE, health, metrics), as
// `resonate serve` does.

export { DEFAULT_HOST, DEFAULT_PORT, startServer, type RunningServer, type ServerOptions } from "./server.ts";
export { TlsConfigError, type TlsOptions } from "./tls.ts";
