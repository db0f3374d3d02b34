// Where a node listens unless told otherwise. A module of its own so the CLI
// can show the defaults without loading the server (grpc-js and friends).

export const DEFAULT_PORT = 8001;
export const DEFAULT_HOST = "127.0.0.1";
