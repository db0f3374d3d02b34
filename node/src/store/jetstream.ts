// The replicated engine: records in NATS JetStream (nats-server 2.12+).
//
// Layout. The key space is split into P partitions by the root of each id's
// call tree (protocol/keys.ts); partition i is the stream `<NS>_P<i>` with
// subjects `<ns>.<i>.<kind letter>.<id token>`, one subject per record, one
// message kept per subject. A record's revision is the stream sequence of its
// last message. P and the replica count are recorded once, when the cluster
// is created, in the stream `<NS>_META`; a node started with another P
// refuses to start.
//
// Commits. The writes of a commit that fall in one partition are one atomic
// batch (ADR-50): every message carries `Nats-Expected-Last-Subject-Sequence`
// (0 for "must not exist") and the server stores all of them or none. A
// refused batch is told apart from a failure by the ack's error code
// (10071, wrong last sequence) and surfaces as ConflictError.
//
// Deletes are tombstones: a message with an empty payload (a JSON record is
// never empty). It keeps compare-and-set exact: deleting at revision r is a
// write expecting r, and "must not exist" over a tombstone at sequence t is a
// write expecting t. The store remembers the tombstones it has seen; one it
// has not seen is found when the server refuses the write, and the write is
// retried once against it (the key was absent, as the caller expected).
//
// A commit falls in one partition: a call tree lives in one, and an effect
// on another tree's records (a settle that wakes an awaiter of another tree,
// a schedule creating its promise) is committed as an outbox record in the
// same batch as its cause and applied by the target's owner (protocol/
// outbox.ts, mesh/outbox.ts). A commit that spans partitions is refused
// before anything is sent, so nothing is ever half-applied. Outbox entries
// (`o/`) and receipts (`r/`) are subjects like records, kind letters o and r.
//
// Reads. `get` is a direct get of the subject's last message. `list` and
// `watch` are served from a local view fed by one ordered consumer per
// partition, caught up before `open` resolves; `list` first waits until the
// view includes every commit this store has made (read-your-writes).

import {
  connect,
  credsAuthenticator,
  headers as natsHeaders,
  type NatsConnection,
  type MsgHdrs,
} from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { KEY_PREFIX, OUTBOX_PREFIX, RECEIPT_PREFIX, decodeToken, encodeToken, parseKey, partitionOf, type RecordKind } from "../protocol/keys.ts";
import { StoreRefusedError, StoreUnavailableError } from "./errors.ts";
import { ConflictError, type Change, type CommitOp, type Entry, type ListOptions, type Store } from "./types.ts";
import { LocalView } from "./view.ts";

export const MIN_NATS_VERSION = "2.12.0";
export const DEFAULT_PARTITIONS = 8;
export const MAX_PARTITIONS = 1024;
/** ADR-50: the server refuses an atomic batch of more messages. */
export const MAX_BATCH_MESSAGES = 1000;
/** JetStream's error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
const WRONG_LAST_SEQUENCE = 10071;

export interface JetStreamStoreOptions {
  /** One or more `nats://host:port` URLs of one cluster. */
  servers: string | string[];
  /** A NATS credentials file (user JWT + nkey seed). */
  credsFile?: string;
  /** Partitions of a new cluster (default 8); must match an existing cluster's. */
  partitions?: number;
  /** Stream replicas: 1, or 3 for a production cluster. */
  replicas?: 1 | 3;
  /** Names the streams and subjects (default "resonate"), so clusters can share a NATS system. */
  namespace?: string;
  /** Each request to NATS gives up after this long (ms). */
  timeoutMs?: number;
  logger?: Logger;
  /** The connection's name in NATS monitoring. */
  name?: string;
}

export interface JetStreamStoreStats {
  commits: number;
  conflicts: number;
}

/** What `<NS>_META` records about the cluster. */
interface ClusterMetadata {
  partitions: number;
  replicas: number;
  createdAt: string;
}

interface Target {
  op: CommitOp;
  subject: string;
}

type Ack = { seq: number } | { conflict: true; description: string };

const KIND_LETTER: Readonly<Record<RecordKind, string>> = { promise: "p", task: "t", schedule: "s" };
/** The key prefix each subject kind letter stands for (records, outbox entries, receipts). */
const PREFIX_OF_LETTER: Readonly<Record<string, string>> = { p: KEY_PREFIX.promise, t: KEY_PREFIX.task, s: KEY_PREFIX.schedule, o: OUTBOX_PREFIX, r: RECEIPT_PREFIX };

export class JetStreamStore implements Store {
  readonly name = "jetstream";
  private readonly view: LocalView;
  /** Per partition, the greatest sequence this store committed: what `list` waits for. */
  private readonly committed: number[];
  /** The last tombstone seen per deleted key (its sequence is what "must not exist" expects). */
  private readonly tombstones = new Map<string, number>();
  private readonly consumers: ConsumerMessages[] = [];
  private readonly counters: JetStreamStoreStats = { commits: 0, conflicts: 0 };
  private batchSeq = 0;
  private readonly batchPrefix = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  private closed = false;
  private connected = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly partitions: number,
    readonly replicas: number,
    readonly namespace: string,
    private readonly timeoutMs: number,
    private readonly logger?: Logger,
  ) {
    this.view = new LocalView(partitions);
    this.committed = new Array<number>(partitions).fill(0);
  }

  /**
   * Connect, check the server and the cluster's metadata, create the streams
   * if this is a new cluster, and catch the local view up. Throws
   * StoreRefusedError for what waiting cannot fix (server too old, another
   * partition count), StoreUnavailableError for what it may (unreachable,
   * JetStream off).
   */
  static async open(options: JetStreamStoreOptions): Promise<JetStreamStore> {
    const namespace = options.namespace ?? "resonate";
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(namespace)) {
      throw new StoreRefusedError("BAD_STORE_OPTION", `namespace must be 1 to 32 letters, digits, '_' or '-', got ${JSON.stringify(namespace)}`);
    }
    const partitions = options.partitions ?? DEFAULT_PARTITIONS;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new StoreRefusedError("BAD_STORE_OPTION", `partitions must be a whole number from 1 to ${MAX_PARTITIONS}, got ${partitions}`);
    }
    const replicas = options.replicas ?? 1;
    if (replicas !== 1 && replicas !== 3) {
      throw new StoreRefusedError("BAD_STORE_OPTION", `replicas must be 1 or 3, got ${String(replicas)}`);
    }
    const servers = Array.isArray(options.servers) ? options.servers : options.servers.split(",").map((s) => s.trim()).filter(Boolean);
    const timeoutMs = options.timeoutMs ?? 10_000;

    const authenticator = options.credsFile === undefined ? undefined : credsAuthenticator(await readFile(options.credsFile));
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: options.name ?? "resonate-node",
        authenticator,
        timeout: timeoutMs,
        // Once connected, ride out NATS restarts: the client reconnects for as long as it takes.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
    } catch (err) {
      throw new StoreUnavailableError(`cannot connect to NATS at ${servers.join(", ")}: ${messageOf(err)}`, { cause: err });
    }
    try {
      const version = nc.info?.version ?? "unknown";
      if (!versionAtLeast(version, MIN_NATS_VERSION)) {
        throw new StoreRefusedError(
          "NATS_TOO_OLD",
          `nats-server ${version} at ${nc.getServer()} is too old: the jetstream store needs ${MIN_NATS_VERSION} or later (atomic batch publish); upgrade the server`,
        );
      }
      let jsm: JetStreamManager;
      try {
        jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      } catch (err) {
        throw new StoreUnavailableError(
          `JetStream is not enabled on the NATS server at ${nc.getServer()}; start nats-server with -js (or jetstream {} in its config): ${messageOf(err)}`,
          { cause: err },
        );
      }
      const meta = await ensureMetadata(jsm, nc, namespace, { partitions, replicas }, timeoutMs);
      if (meta.partitions !== partitions) {
        throw new StoreRefusedError(
          "PARTITION_MISMATCH",
          `this cluster (namespace ${namespace}) was created with ${meta.partitions} partitions and this node was started with ${partitions}; start it with --partitions ${meta.partitions} (the count is fixed when the cluster is created)`,
        );
      }
      for (let p = 0; p < partitions; p++) await ensureStream(jsm, partitionStream(namespace, p, replicas));
      const store = new JetStreamStore(nc, jetstream(nc, { timeout: timeoutMs }), jsm, partitions, meta.replicas, namespace, timeoutMs, options.logger);
      await store.follow();
      return store;
    } catch (err) {
      await nc.close().catch(() => undefined);
      if (err instanceof StoreRefusedError || err instanceof StoreUnavailableError) throw err;
      // Anything else while setting up (a cluster still electing its JetStream leader, a timeout) may pass.
      throw new StoreUnavailableError(`JetStream at ${servers.join(", ")} is not ready: ${messageOf(err)}`, { cause: err });
    }
  }

  /** True while connected to NATS (the view is caught up once `open` has resolved). */
  get ready(): boolean {
    return this.connected && !this.closed;
  }

  /** The store's NATS connection, shared by the mesh (membership, delivery) so a node holds one. */
  get connection(): NatsConnection {
    return this.nc;
  }

  stats(): JetStreamStoreStats {
    return { ...this.counters };
  }

  /** The stream and subject a key lives in. */
  locate(key: string): { partition: number; stream: string; subject: string } {
    const parsed = parseKey(key);
    const letter = parsed !== undefined ? KIND_LETTER[parsed.kind] : key.startsWith(OUTBOX_PREFIX) ? "o" : key.startsWith(RECEIPT_PREFIX) ? "r" : undefined;
    if (letter === undefined) {
      const prefixes = [...Object.values(KEY_PREFIX), OUTBOX_PREFIX, RECEIPT_PREFIX];
      throw new Error(`the key ${JSON.stringify(key)} is outside the record layout (${prefixes.join(", ")})`);
    }
    const partition = partitionOf(key, this.partitions);
    return {
      partition,
      stream: streamName(this.namespace, partition),
      subject: `${this.namespace}.${partition}.${letter}.${encodeToken(key.slice(2))}`,
    };
  }

  async get(key: string): Promise<Entry | undefined> {
    this.assertOpen();
    const { stream, subject } = this.locate(key);
    const last = await this.last(stream, subject);
    if (last === undefined || last.json === null) return undefined;
    return { key, value: JSON.parse(last.json), revision: last.seq };
  }

  async create(key: string, value: unknown): Promise<number> {
    return (await this.commitPartition(this.targets([{ key, value, expectedRevision: 0 }])))!;
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    return (await this.commitPartition(this.targets([{ key, value, expectedRevision: revision }])))!;
  }

  async commit(ops: CommitOp[]): Promise<void> {
    this.assertOpen();
    if (ops.length === 0) return;
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.key)) throw new Error(`commit names the key ${op.key} twice; merge the writes first`);
      seen.add(op.key);
    }
    const targets = this.targets(ops);
    const partition = partitionOf(ops[0]!.key, this.partitions);
    const foreign = ops.find((op) => partitionOf(op.key, this.partitions) !== partition);
    if (foreign !== undefined) {
      throw new Error(
        `a commit spans partitions ${partition} and ${partitionOf(foreign.key, this.partitions)} (${ops[0]!.key}, ${foreign.key}); ` +
          "a commit is atomic within one partition, effects across partitions go through the outbox",
      );
    }
    await this.commitPartition(targets);
  }

  async list(options: ListOptions): Promise<Entry[]> {
    this.assertOpen();
    await this.sync();
    return this.view.list(options);
  }

  async sync(): Promise<void> {
    await Promise.all(this.committed.map((seq, p) => this.view.waitFor(p, seq)));
  }

  watch(prefix: string, onChange: (change: Change) => void): () => void {
    this.assertOpen();
    // This store's own commits the view has not applied yet happened before the call.
    return this.view.watch(prefix, onChange, [...this.committed]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.consumers) await c.close().catch(() => undefined);
    this.view.close();
    await this.nc.close().catch(() => undefined);
  }

  // ------------------------------------------------------------ internals

  private targets(ops: CommitOp[]): Target[] {
    return ops.map((op) => ({ op, subject: this.locate(op.key).subject }));
  }

  /** Commit writes of one partition as one atomic batch (one plain publish for one write); the last sequence. */
  private async commitPartition(targets: Target[]): Promise<number> {
    this.assertOpen();
    if (targets.length > MAX_BATCH_MESSAGES) {
      throw new Error(`a commit of ${targets.length} records in one partition is more than the ${MAX_BATCH_MESSAGES} JetStream stores atomically`);
    }
    const partition = partitionOf(targets[0]!.op.key, this.partitions);
    const payloads = targets.map((t) => encodeValue(t.op));
    for (let round = 0; ; round++) {
      const expected = targets.map((t) => (t.op.expectedRevision === 0 ? (this.tombstones.get(t.op.key) ?? 0) : t.op.expectedRevision));
      const ack = await this.publish(targets, payloads, expected);
      if ("seq" in ack) {
        this.counters.commits++;
        if (ack.seq > this.committed[partition]!) this.committed[partition] = ack.seq;
        // An atomic batch is stored as consecutive sequences ending at the ack's.
        targets.forEach((t, i) => {
          if (payloads[i]!.length === 0) this.tombstones.set(t.op.key, ack.seq - targets.length + 1 + i);
          else this.tombstones.delete(t.op.key);
        });
        return ack.seq;
      }
      // Refused: find the write whose expectation failed. A "must not exist"
      // over a tombstone this store had not seen is no conflict: retry against it.
      const stream = streamName(this.namespace, partition);
      const actual = await Promise.all(targets.map((t) => this.last(stream, t.subject)));
      let learned = false;
      for (let i = 0; i < targets.length; i++) {
        const found = actual[i]?.seq ?? 0;
        if (found === expected[i]) continue;
        const op = targets[i]!.op;
        const absent = actual[i] === undefined || actual[i]!.json === null;
        if (op.expectedRevision === 0 && absent) {
          if (found === 0) this.tombstones.delete(op.key);
          else this.tombstones.set(op.key, found);
          learned = true;
          continue;
        }
        this.counters.conflicts++;
        throw new ConflictError(op.key, op.expectedRevision, absent ? 0 : found);
      }
      if (!learned || round >= 3) {
        // Every expectation holds now: another writer came and went in between. The caller retries from fresh reads.
        this.counters.conflicts++;
        throw new ConflictError(targets[0]!.op.key, targets[0]!.op.expectedRevision, -1);
      }
    }
  }

  /** One publish with the expected last sequence, or an atomic batch of several. */
  private async publish(targets: Target[], payloads: Uint8Array[], expected: number[]): Promise<Ack> {
    const last = targets.length - 1;
    const batchId = last === 0 ? undefined : `${this.batchPrefix}-${++this.batchSeq}`;
    for (let i = 0; i <= last; i++) {
      const h = natsHeaders();
      h.set("Nats-Expected-Last-Subject-Sequence", String(expected[i]));
      if (batchId !== undefined) {
        h.set("Nats-Batch-Id", batchId);
        h.set("Nats-Batch-Sequence", String(i + 1));
        if (i === last) h.set("Nats-Batch-Commit", "1");
      }
      if (i < last) {
        // Only the commit is acknowledged; the messages before it ride the same connection, in order.
        this.nc.publish(targets[i]!.subject, payloads[i], { headers: h });
        continue;
      }
      let reply;
      try {
        reply = await this.nc.request(targets[i]!.subject, payloads[i], { headers: h, timeout: this.timeoutMs });
      } catch (err) {
        throw new StoreUnavailableError(`no acknowledgement from JetStream for a commit of ${targets.length} record(s) (its outcome is unknown): ${messageOf(err)}`, {
          cause: err,
        });
      }
      return parseAck(reply.string(), targets.length);
    }
    throw new Error("unreachable: a commit has at least one write");
  }

  /** The last message of a subject: its sequence and JSON text (null for a tombstone). */
  private async last(stream: string, subject: string): Promise<{ seq: number; json: string | null } | undefined> {
    let m;
    try {
      m = await this.jsm.direct.getMessage(stream, { last_by_subj: subject });
    } catch (err) {
      throw new StoreUnavailableError(`cannot read ${subject} from JetStream: ${messageOf(err)}`, { cause: err });
    }
    if (m === null) return undefined;
    if (m.data.length === 0) {
      this.tombstones.set(keyOfSubject(subject), m.seq);
      return { seq: m.seq, json: null };
    }
    return { seq: m.seq, json: m.string() };
  }

  /** Start one ordered consumer per partition and wait until the view holds what each stream held at the start. */
  private async follow(): Promise<void> {
    const heads: number[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const stream = streamName(this.namespace, p);
      const info = await this.jsm.streams.info(stream);
      heads.push(info.state.last_seq);
      const consumer = await this.js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume();
      this.consumers.push(messages);
      void (async () => {
        for await (const m of messages) {
          this.view.apply(p, m.seq, keyOfSubject(m.subject), m.data.length === 0 ? null : m.string());
        }
      })().catch((err: unknown) => {
        if (!this.closed) this.logger?.error({ err, stream }, "stopped following a partition stream");
      });
    }
    void this.watchConnection();
    await Promise.all(heads.map((seq, p) => this.view.waitFor(p, seq)));
  }

  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") {
        this.connected = false;
        this.logger?.warn({ server: s.server }, "lost the connection to NATS; reconnecting");
      } else if (s.type === "reconnect") {
        this.connected = true;
        this.logger?.info({ server: s.server }, "reconnected to NATS");
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("the jetstream store is closed");
  }
}

/** The key a record subject names (`<ns>.<partition>.<kind letter>.<token>`). */
function keyOfSubject(subject: string): string {
  const parts = subject.split(".");
  const prefix = PREFIX_OF_LETTER[parts[2] ?? ""];
  if (parts.length !== 4 || prefix === undefined) throw new Error(`not a record subject: ${subject}`);
  return prefix + decodeToken(parts[3]!);
}

function encodeValue(op: CommitOp): Uint8Array {
  if (op.value === null || op.value === undefined) return new Uint8Array(0);
  const json = JSON.stringify(op.value);
  // JSON.stringify gives undefined for a top-level function or symbol: nothing storable.
  if (json === undefined) throw new TypeError(`a ${typeof op.value} cannot be stored; values are JSON records`);
  return new TextEncoder().encode(json);
}

function parseAck(text: string, count: number): Ack {
  let ack: { seq?: number; count?: number; error?: { err_code?: number; description?: string } };
  try {
    ack = JSON.parse(text);
  } catch {
    throw new StoreUnavailableError(`JetStream answered a commit with something that is not an acknowledgement: ${text.slice(0, 200)}`);
  }
  if (ack.error !== undefined) {
    if (ack.error.err_code === WRONG_LAST_SEQUENCE) return { conflict: true, description: ack.error.description ?? "" };
    throw new StoreUnavailableError(`JetStream refused a commit of ${count} record(s): ${ack.error.description ?? JSON.stringify(ack.error)}`);
  }
  if (typeof ack.seq !== "number" || (count > 1 && ack.count !== count)) {
    throw new StoreUnavailableError(`JetStream acknowledged a commit of ${count} record(s) unexpectedly: ${text.slice(0, 200)}`);
  }
  return { seq: ack.seq };
}

function streamName(namespace: string, partition: number): string {
  return `${namespace.toUpperCase()}_P${partition}`;
}

function partitionStream(namespace: string, partition: number, replicas: number): Partial<StreamConfig> & { name: string } {
  return {
    name: streamName(namespace, partition),
    subjects: [`${namespace}.${partition}.>`],
    allow_atomic: true,
    allow_direct: true,
    // A record is its subject's last message; older versions are of no use.
    max_msgs_per_subject: 1,
    num_replicas: replicas,
  } as Partial<StreamConfig> & { name: string };
}

async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }): Promise<void> {
  try {
    await jsm.streams.info(config.name);
    return;
  } catch (err) {
    if (!/stream not found/i.test(messageOf(err))) throw err;
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another node created it first.
    if (!/already in use/i.test(messageOf(err))) throw err;
  }
}

/** Read the cluster's metadata, recording ours first if this is a new cluster. */
async function ensureMetadata(
  jsm: JetStreamManager,
  nc: NatsConnection,
  namespace: string,
  wanted: { partitions: number; replicas: number },
  timeoutMs: number,
): Promise<ClusterMetadata> {
  const stream = `${namespace.toUpperCase()}_META`;
  const subject = `${namespace}.meta.cluster`;
  await ensureStream(jsm, {
    name: stream,
    subjects: [`${namespace}.meta.>`],
    allow_direct: true,
    max_msgs_per_subject: 1,
    num_replicas: wanted.replicas,
  } as Partial<StreamConfig> & { name: string });
  for (let attempt = 0; attempt < 3; attempt++) {
    const m = await jsm.direct.getMessage(stream, { last_by_subj: subject });
    if (m !== null) return m.json<ClusterMetadata>();
    const h: MsgHdrs = natsHeaders();
    // Only the first node records it; a second one racing it reads the winner's.
    h.set("Nats-Expected-Last-Subject-Sequence", "0");
    const meta: ClusterMetadata = { ...wanted, createdAt: new Date().toISOString() };
    await nc.request(subject, JSON.stringify(meta), { headers: h, timeout: timeoutMs });
  }
  throw new StoreUnavailableError(`could not read the cluster metadata from ${stream}`);
}

/** a >= b for dotted versions ("2.14.9", "2.12.0-RC.1" counts as 2.12.0). */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(/[-+]/)[0]!.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const a = parse(version);
  const b = parse(minimum);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
