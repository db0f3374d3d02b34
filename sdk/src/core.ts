// The replay core lives in core/ (the state machine) and runner.ts (its I/O);
// this module keeps the worker's import of Attempt where it was.

export { Attempt, type RootInvocation } from "./runner.ts";
