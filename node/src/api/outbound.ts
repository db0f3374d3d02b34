// A bound on what the node queues for one slow stream (gRPC Poll, SSE). A
// stream whose reader stops reading fills the socket, then the node's write
// buffer; without a bound every message for it would pile up in memory. Once
// a write is refused by back-pressure, the bytes written until the next
// `drain` are counted; past the bound the stream is cut, and the messages
// that may never have left (those written since the back-pressure began) go
// back to dispatch, so their work is redelivered to a worker that reads.

import type { Message } from "../protocol/types.ts";

/** About how many bytes a message takes on the wire (the payloads dominate). */
export function messageBytes(message: Message): number {
  if (message.kind === "execute") return 128 + message.task.id.length;
  const p = message.promise;
  let n = 256 + p.id.length + p.param.data.length + (p.value?.data.length ?? 0);
  for (const [k, v] of Object.entries(p.tags)) n += k.length + v.length + 4;
  return n;
}

export class OutboundBound {
  private congested = false;
  private queuedBytes = 0;
  private unflushed: Message[] = [];

  constructor(private readonly maxBytes: number) {}

  /**
   * May `message` be written now? False means the stream is over its bound:
   * cut it (with undelivered()) instead of writing.
   */
  admit(message: Message): boolean {
    if (!this.congested) return true;
    return this.queuedBytes + messageBytes(message) <= this.maxBytes;
  }

  /** Record a write and whether the stream took it without back-pressure (write() returned true). */
  wrote(message: Message, accepted: boolean): void {
    if (this.congested || !accepted) {
      this.congested = true;
      this.queuedBytes += messageBytes(message);
      this.unflushed.push(message);
    }
  }

  /** The stream drained its buffer: everything written so far has left. */
  drained(): void {
    this.congested = false;
    this.queuedBytes = 0;
    this.unflushed = [];
  }

  /** Messages written since back-pressure began, which may never have reached the reader. */
  undelivered(): Message[] {
    return this.unflushed;
  }
}
