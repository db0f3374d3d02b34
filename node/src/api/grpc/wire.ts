// The node's hot path on the wire: the most frequent answers (create,
// settle, get, fence, fence batch, task create/acquire/fulfill) and a
// worker's most frequent requests (fence, fence batch, task create/fulfill,
// promise create/settle) written as protobuf bytes straight from the
// protocol's records, and read straight back into them. The general path
// (convert.ts: a protobuf-es message built with `create`, then the
// reflective `toBinary`/`fromBinary`) cost 10-20 µs per message each way,
// the largest single cost of a unary call after HTTP/2; these are about 3x
// cheaper. Writers produce the general path's exact bytes; readers read
// only the common, well-formed case and leave anything else (unknown fields
// or enum values, out-of-range numbers, missing parts) to the general path,
// which converts or refuses it with its own messages.
// node/test/api/wire.test.ts checks both for generated records.

export { decodeAnswer, encodeAnswer } from "./wire-answers.ts";
export { decodeRequest, encodeRequest } from "./wire-requests.ts";
