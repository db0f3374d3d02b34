// The replicated engine: records in NATS JetStream (nats-server 2.12+).
//
// Layout. The key space is split into P partitions by the root of each id's
// call tree (protocol/keys.ts); partition i is the stream `<NS>_P<i>` with
// subjects `<ns>.<i>.<kind>.<id token>`, one message kept per subject. A
// subject holds a unit of records (protocol/keys.ts unitKeys): a promise and
// the task of the same id together (kind `pt`, message
// `{"len":[..],"p":{..},"t":{..}}`), any other record alone (`s`, and `o`/`r`
// for the outbox). A record's revision is the stream sequence of its unit's
// last message, so writing a promise moves its task's revision too (a
// compare-and-set on the task then conflicts and the writer reads again).
// P, the replica count and the layout are recorded once, when the cluster is
// created, in the stream `<NS>_META`; a node started with another P, or a
// cluster of another layout, is refused.
//
// Commits. A commit's writes that fall in one unit are one message that
// rewrites the whole unit (the records left alone keep their text as of the
// sequence expected); the units of one partition are one atomic batch
// (ADR-50): every message carries `Nats-Expected-Last-Subject-Sequence` (0
// for "must not exist") and the server stores all of them or none. A refused
// batch is told apart from a failure by the ack's error code (10071, wrong
// last sequence) and surfaces as ConflictError. The common writes (a promise
// with its task, a step's promise) are one message: no batch at all.
//
// Deletes are tombstones: a message with an empty payload (a JSON record is
// never empty). It keeps compare-and-set exact: deleting at revision r is a
// write expecting r, and "must not exist" over a tombstone at sequence t is a
// write expecting t. The store remembers the tombstones it has seen; one it
// has not seen is found when the server refuses the write, and the write goes
// again against it (the record was absent, as the caller expected), as does
// a "must not exist" over a unit whose other record changed meanwhile.
//
// A commit falls in one partition: a call tree lives in one, and an effect
// on another tree's records (a settle that wakes an awaiter of another tree,
// a schedule creating its promise) is committed as an outbox record in the
// same batch as its cause and applied by the target's owner (protocol/
// outbox.ts, mesh/outbox.ts). A commit that spans partitions is refused
// before anything is sent, so nothing is ever half-applied. Outbox entries
// (`o/`) and receipts (`r/`) are subjects like records, kind letters o and r.
//
// Reads. `get` is a direct get of the subject's last message; `getMany`
// asks for the last messages of several subjects of a partition in one
// batched direct get (`multi_last`). `list` and `watch` are served from a
// local view fed by one ordered consumer per partition, caught up before
// `open` resolves; `list` first waits until the view includes every commit
// this store has made in the partitions it lists (read-your-writes).
// `getMany(keys, { cached: true })` answers from that view without waiting:
// no round trip, possibly behind other nodes' commits, which is what a read
// for a compare-and-set may be (the commit catches it). So that it is never
// behind this store's own commits, a commit whose sequences directly follow
// what the view has applied goes into the view at its ack (nothing can come
// between; the consumer's copy is skipped), and any other is kept aside
// (`unapplied`) and wins over the view's older version until the consumer
// catches up.
//
// Round trips. Commits and direct gets are published with a reply subject on
// the store's one inbox and answered there (no per-request subscription,
// timer or promise of the client's request()); one sweeper times out what
// goes unanswered. A commit goes out at once when it is the only one awaiting
// an ack, and is held to the end of the event-loop turn while others are, so
// concurrent requests share a socket write.
//
// Cost to know (nats-server 2.12-2.14): on an R1 file stream every atomic
// batch of two or more messages is staged in a file store created for it
// (server/jetstream_batching.go, newBatchStore), about 1 ms of server CPU and
// 1-3 ms of latency against about 0.2 ms for a single message; R3 stages in
// memory, where a batch costs what a single message does.

import {
  connect,
  createInbox,
  credsAuthenticator,
  headers as natsHeaders,
  type NatsConnection,
  type Msg,
  type MsgHdrs,
} from "@nats-io/transport-node";
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { KEY_PREFIX, OUTBOX_PREFIX, RECEIPT_PREFIX, decodeToken, encodeToken, parseKey, partitionOf, treeRootOf, unitKeys, type RecordKind } from "../protocol/keys.ts";
import { StoreRefusedError, StoreUnavailableError } from "./errors.ts";
import { ConflictError, type Change, type CommitOp, type Entry, type ListOptions, type ReadOptions, type Store } from "./types.ts";
import { LocalView } from "./view.ts";

export const MIN_NATS_VERSION = "2.12.0";
export const DEFAULT_PARTITIONS = 8;
export const MAX_PARTITIONS = 1024;
/** ADR-50: the server refuses an atomic batch of more messages. */
export const MAX_BATCH_MESSAGES = 1000;
/** JetStream's error code for a failed `Nats-Expected-Last-Subject-Sequence` check. */
const WRONG_LAST_SEQUENCE = 10071;
/**
 * "wrong last sequence" without a number: a clustered stream (R3) refuses a
 * write this way while another proposal on the same subject is in flight. A
 * conflict too: the writer retries from fresh reads.
 */
const WRONG_LAST_SEQUENCE_IN_FLIGHT = 10164;

export interface JetStreamStoreOptions {
  /** One or more `nats://host:port` URLs of one cluster. */
  servers: string | string[];
  /** A NATS credentials file (user JWT + nkey seed). */
  credsFile?: string;
  /**
   * TLS to NATS, PEM files: the CA of the servers' certificates and a client
   * certificate + key when the servers verify clients. Given (or with
   * `tls://` URLs), the connection must be TLS.
   */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
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
  /** Read requests sent to JetStream (direct gets, single or batched). */
  reads: number;
  /** Reads answered from the local view without a round trip. */
  cachedReads: number;
}

/** The client's TLS options: none for cleartext URLs without files, else TLS required. */
function natsTls(files: JetStreamStoreOptions["tls"], servers: string[]): { tls?: { caFile?: string; certFile?: string; keyFile?: string } } {
  const given = Object.entries(files ?? {}).filter(([, file]) => file !== undefined);
  if (given.length === 0 && !servers.some((s) => s.startsWith("tls://"))) return {};
  return { tls: Object.fromEntries(given) };
}

/**
 * How records are laid out in the streams, recorded in a cluster's metadata:
 * 2 keeps a promise and its task in one message (a cluster created before
 * layouts were recorded has layout 1, one message per record).
 */
export const RECORD_LAYOUT = 2;

/** What `<NS>_META` records about the cluster. */
interface ClusterMetadata {
  partitions: number;
  replicas: number;
  /** Absent: 1. */
  layout?: number;
  createdAt: string;
}

/**
 * A stored unit (one subject, its last message): the sequence of that
 * message (0: never written) and the JSON text of each of its keys
 * (protocol/keys.ts unitKeys) as of it, null for an absent record.
 */
interface Unit {
  seq: number;
  texts: (string | null)[];
}

/** One unit a commit writes: one message of its batch. */
interface Target {
  subject: string;
  keys: readonly string[];
  /** Per key of the unit, this commit's write of it (undefined: left as it is). */
  ops: (CommitOp | undefined)[];
  /** Per key, the JSON text that write stores (null deletes; undefined: not written). */
  written: (string | null | undefined)[];
}

type Ack = { seq: number } | { conflict: true; description: string };

/** One generation of a partition's consumer (see followPartition); `messages` once it has started. */
interface Follower {
  messages?: ConsumerMessages;
  lastActive: number;
}

/** A request sent with a reply subject on the store's inbox (see request). */
interface PendingReply {
  /** By Date.now(): past it, `onTimeout` runs and later replies are dropped. */
  deadline: number;
  /** One reply; true once the request is answered (no more replies expected). */
  onReply(m: Msg): boolean;
  onTimeout(): void;
  /** The store closed with the request unanswered. */
  onClose(): void;
}

type Last = { seq: number; json: string | null };

/** The subject kind of each record kind: a promise and its task share one (see unitKeys). */
const KIND_LETTER: Readonly<Record<RecordKind, string>> = { promise: "pt", task: "pt", schedule: "s" };
/** The key prefix of a unit's first key, per subject kind (records, outbox entries, receipts). */
const PREFIX_OF_LETTER: Readonly<Record<string, string>> = { pt: KEY_PREFIX.promise, s: KEY_PREFIX.schedule, o: OUTBOX_PREFIX, r: RECEIPT_PREFIX };

export class JetStreamStore implements Store {
  readonly name = "jetstream";
  private readonly view: LocalView;
  /** Per partition, the greatest sequence this store committed: what `list` waits for. */
  private readonly committed: number[];
  /** This store's acknowledged writes the view has not applied yet, per unit (by its first key). */
  private readonly unapplied = new Map<string, Unit>();
  /** The last tombstone seen per deleted unit, by its first key (its sequence is what "must not exist" expects). */
  private readonly tombstones = new Map<string, number>();
  private readonly consumers: ConsumerMessages[] = [];
  /** Per partition, the consumer feeding the view and when it last delivered (see followPartition). */
  private readonly followers: (Follower | undefined)[] = [];
  private watchdog?: NodeJS.Timeout;
  private checking = false;
  private readonly counters: JetStreamStoreStats = { commits: 0, conflicts: 0, reads: 0, cachedReads: 0 };
  private batchSeq = 0;
  private readonly batchPrefix = `${process.pid.toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  private closed = false;
  private connected = true;
  /** Requests (commits, direct gets) awaiting their replies, by the last token of their reply subject. */
  private readonly pendingReplies = new Map<string, PendingReply>();
  private readonly replyInbox = createInbox();
  private replySeq = 0;
  /** Times out unanswered requests (one timer for all, instead of one per request). */
  private replySweeper?: NodeJS.Timeout;
  /** Commits sent and not acknowledged yet: while there are some, a new one waits for the end of the turn (see publish). */
  private unacknowledged = 0;
  /** The end of the current event-loop turn, while something waits for it (see nextTurn). */
  private turn: Promise<void> | undefined;

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
        ...natsTls(options.tls, servers),
        timeout: timeoutMs,
        // Once connected, ride out NATS restarts: the client reconnects for as long as it takes.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        // Every request would otherwise capture two stack traces up front (a few % of the node's CPU per commit);
        // our errors name the operation themselves.
        noAsyncTraces: true,
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
      if ((meta.layout ?? 1) !== RECORD_LAYOUT) {
        throw new StoreRefusedError(
          "LAYOUT_MISMATCH",
          `this cluster (namespace ${namespace}) stores records in layout ${meta.layout ?? 1} and this node in layout ${RECORD_LAYOUT} (a promise and its task in one message); start this node on a new cluster (another --nats-namespace) and serve the old one with the version that made it`,
        );
      }
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

  /** R1: the server stages an atomic batch in a file store of its own, about 2 ms of its CPU against 0.1 ms for one message. */
  get prefersSingleUnitCommits(): boolean {
    return this.replicas === 1;
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
    const keys = unitKeys(key);
    return memberOf(keys, key, this.unitFrom(keys, await this.last(stream, subject)));
  }

  async getMany(keys: readonly string[], options: ReadOptions = {}): Promise<(Entry | undefined)[]> {
    this.assertOpen();
    if (options.cached === true) {
      this.counters.cachedReads += keys.length;
      return keys.map((key) => this.cachedRead(key));
    }
    const located = keys.map((key) => ({ key, keys: unitKeys(key), ...this.locate(key) }));
    const found = new Map<string, Last>();
    await Promise.all(
      Array.from(new Set(located.map((l) => l.partition)), async (p) => {
        // A promise and its task are one subject: read it once.
        const subjects = [...new Set(located.filter((l) => l.partition === p).map((l) => l.subject))];
        const stream = streamName(this.namespace, p);
        if (subjects.length === 1) {
          const last = await this.last(stream, subjects[0]!);
          if (last !== undefined) found.set(subjects[0]!, last);
          return;
        }
        for (const [subject, last] of await this.lastOfMany(stream, subjects)) found.set(subject, last);
      }),
    );
    const units = new Map<string, Unit>();
    return located.map(({ key, keys: unit, subject }) => {
      let decoded = units.get(subject);
      if (decoded === undefined) units.set(subject, (decoded = this.unitFrom(unit, found.get(subject))));
      return memberOf(unit, key, decoded);
    });
  }

  async create(key: string, value: unknown): Promise<number> {
    this.assertOpen();
    return this.commitPartition([{ key, value, expectedRevision: 0 }]);
  }

  async update(key: string, value: unknown, revision: number): Promise<number> {
    this.assertOpen();
    return this.commitPartition([{ key, value, expectedRevision: revision }]);
  }

  async commit(ops: CommitOp[]): Promise<void> {
    this.assertOpen();
    if (ops.length === 0) return;
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.key)) throw new Error(`commit names the key ${op.key} twice; merge the writes first`);
      seen.add(op.key);
    }
    const partition = partitionOf(ops[0]!.key, this.partitions);
    const foreign = ops.find((op) => partitionOf(op.key, this.partitions) !== partition);
    if (foreign !== undefined) {
      throw new Error(
        `a commit spans partitions ${partition} and ${partitionOf(foreign.key, this.partitions)} (${ops[0]!.key}, ${foreign.key}); ` +
          "a commit is atomic within one partition, effects across partitions go through the outbox",
      );
    }
    await this.commitPartition(ops);
  }

  async list(options: ListOptions): Promise<Entry[]> {
    this.assertOpen();
    const partition = this.partitionOfPrefix(options.prefix);
    if (partition === undefined) await this.sync();
    else await this.view.waitFor(partition, this.committed[partition]!);
    return this.view.list(options);
  }

  async sync(): Promise<void> {
    await Promise.all(this.committed.map((seq, p) => this.view.waitFor(p, seq)));
    this.view.deliver();
  }

  deliverChanges(): void {
    this.view.deliver();
  }

  watch(prefix: string, onChange: (change: Change) => void): () => void {
    this.assertOpen();
    // This store's own commits the view has not applied yet happened before the call.
    return this.view.watch(prefix, onChange, [...this.committed]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    if (this.replySweeper !== undefined) clearInterval(this.replySweeper);
    for (const c of this.consumers) await c.close().catch(() => undefined);
    this.view.close();
    const unanswered = [...this.pendingReplies.values()];
    this.pendingReplies.clear();
    for (const pending of unanswered) pending.onClose();
    this.unapplied.clear();
    await this.nc.close().catch(() => undefined);
  }

  // ------------------------------------------------------------ internals

  /** The view's record of `key`, or this store's own later write of it that the view has not applied yet. */
  private cachedRead(key: string): Entry | undefined {
    const keys = unitKeys(key);
    const unit = this.cachedUnit(keys);
    const text = unit.texts[keys.indexOf(key)];
    if (text === null || text === undefined) return undefined;
    // The view's version (the same text): its shared value, parsed once for all its readers.
    const slot = this.view.slot(key);
    const value = slot !== undefined && slot.json === text ? this.view.valueOf(slot) : JSON.parse(text);
    return { key, value, revision: unit.seq };
  }

  /**
   * A unit as this store knows it without a round trip: the view's records,
   * or this store's own later write or a later tombstone it has seen. Possibly
   * behind other stores' commits (a commit against it is then refused), never
   * a mix of two versions: the view applies whole messages in order.
   */
  private cachedUnit(keys: readonly string[]): Unit {
    let seq = 0;
    const texts = keys.map((key) => {
      const slot = this.view.slot(key);
      if (slot === undefined) return null;
      if (slot.revision > seq) seq = slot.revision;
      return slot.json;
    });
    const own = this.unapplied.get(keys[0]!);
    if (own !== undefined && own.seq > seq) return own;
    const tombstone = this.tombstones.get(keys[0]!);
    if (tombstone !== undefined && tombstone > seq) return { seq: tombstone, texts: keys.map(() => null) };
    return { seq, texts };
  }

  /** A unit from its subject's last message (undefined: never written); a tombstone is remembered. */
  private unitFrom(keys: readonly string[], last: Last | undefined): Unit {
    if (last === undefined) return { seq: 0, texts: keys.map(() => null) };
    if (last.json === null) {
      this.tombstones.set(keys[0]!, last.seq);
      return { seq: last.seq, texts: keys.map(() => null) };
    }
    return { seq: last.seq, texts: decodeUnit(keys, last.json) };
  }

  /**
   * Make an acknowledged batch (consecutive sequences ending at `lastSeq`)
   * visible to this store's readers. When it directly follows what the view
   * has applied, nobody else's message can come between: the view applies it
   * now (the consumer's copy is skipped when it comes), so a `list` after it
   * need not wait for the consumer. Otherwise it is kept aside until the
   * consumer brings the view up to it.
   */
  private remember(partition: number, targets: Target[], units: Unit[]): void {
    const direct = units[0]!.seq === this.view.appliedSequence(partition) + 1;
    for (let i = 0; i < targets.length; i++) {
      const unit = units[i]!;
      const first = targets[i]!.keys[0]!;
      if (direct) {
        this.view.apply(partition, unit.seq, targets[i]!.keys, unit.texts);
        const own = this.unapplied.get(first);
        if (own !== undefined && own.seq <= unit.seq) this.unapplied.delete(first);
      } else if (unit.seq > this.view.appliedSequence(partition)) {
        const known = this.unapplied.get(first);
        if (known === undefined || known.seq < unit.seq) this.unapplied.set(first, unit);
      }
    }
  }

  /** The one partition every key under `prefix` lives in, when the prefix names a tree root (its id part holds a '.' or ':'). */
  private partitionOfPrefix(prefix: string): number | undefined {
    const parsed = parseKey(prefix);
    if (parsed === undefined || treeRootOf(parsed.id) === parsed.id) return undefined;
    return partitionOf(prefix, this.partitions);
  }

  /** A commit's writes grouped by the unit they fall in: one message each. */
  private targets(ops: CommitOp[]): Target[] {
    const byUnit = new Map<string, Target>();
    for (const op of ops) {
      const keys = unitKeys(op.key);
      let target = byUnit.get(keys[0]!);
      if (target === undefined) {
        target = { subject: this.locate(op.key).subject, keys, ops: keys.map(() => undefined), written: keys.map(() => undefined) };
        byUnit.set(keys[0]!, target);
      }
      const i = keys.indexOf(op.key);
      target.ops[i] = op;
      target.written[i] = jsonOf(op);
    }
    return [...byUnit.values()];
  }

  /**
   * Commit writes of one partition: one message per unit they fall in, an
   * atomic batch for several (one plain publish for one). Each message
   * rewrites its whole unit: the keys the commit leaves alone keep their text
   * as of the sequence expected. Returns the last sequence.
   */
  private async commitPartition(ops: CommitOp[]): Promise<number> {
    const targets = this.targets(ops);
    if (targets.length > MAX_BATCH_MESSAGES) {
      throw new Error(`a commit of ${targets.length} records in one partition is more than the ${MAX_BATCH_MESSAGES} JetStream stores atomically`);
    }
    const partition = partitionOf(ops[0]!.key, this.partitions);
    const stream = streamName(this.namespace, partition);
    // First against what this store knows; a unit that disagrees with a write's expectation is read afresh.
    const bases = targets.map((t) => this.cachedUnit(t.keys));
    const stale = targets.flatMap((t, i) => (disagreement(t, bases[i]!) === undefined ? [] : [i]));
    if (stale.length > 0) {
      const fresh = await this.lastUnits(stream, stale.map((i) => targets[i]!));
      stale.forEach((i, j) => (bases[i] = fresh[j]!));
    }
    for (let round = 0; ; round++) {
      targets.forEach((t, i) => {
        const conflict = disagreement(t, bases[i]!);
        if (conflict !== undefined) {
          this.counters.conflicts++;
          throw new ConflictError(conflict.key, conflict.expected, conflict.found);
        }
      });
      const after = targets.map((t, i) => t.written.map((text, k) => (text === undefined ? bases[i]!.texts[k]! : text)));
      const payloads = targets.map((t, i) => encodeUnit(t.keys, after[i]!));
      const ack = await this.publish(targets, payloads, bases.map((b) => b.seq));
      if ("seq" in ack) {
        this.counters.commits++;
        if (ack.seq > this.committed[partition]!) this.committed[partition] = ack.seq;
        // An atomic batch is stored as consecutive sequences ending at the ack's.
        const units = after.map((texts, i) => ({ seq: ack.seq - targets.length + 1 + i, texts }));
        targets.forEach((t, i) => {
          if (payloads[i]!.length === 0) this.tombstones.set(t.keys[0]!, units[i]!.seq);
          else this.tombstones.delete(t.keys[0]!);
        });
        this.remember(partition, targets, units);
        return ack.seq;
      }
      // Refused: some unit moved on. When every write's expectation still
      // holds against the units as they are now (a "must not exist" over a unit
      // whose other record changed, or over a tombstone this store had not
      // seen), go again against them; otherwise the check above throws.
      if (round >= 3) {
        this.counters.conflicts++;
        throw new ConflictError(ops[0]!.key, ops[0]!.expectedRevision, -1);
      }
      const fresh = await this.lastUnits(stream, targets);
      fresh.forEach((unit, i) => (bases[i] = unit));
    }
  }

  /** The units of `targets` as their subjects' last messages hold them now (one batched read). */
  private async lastUnits(stream: string, targets: Target[]): Promise<Unit[]> {
    if (targets.length === 1) return [this.unitFrom(targets[0]!.keys, await this.last(stream, targets[0]!.subject))];
    const found = await this.lastOfMany(stream, targets.map((t) => t.subject));
    return targets.map((t) => this.unitFrom(t.keys, found.get(t.subject)));
  }

  /**
   * One publish with the expected last sequence, or an atomic batch of
   * several. While other commits await their acks (concurrent requests), this
   * one waits for the end of the turn so they go out in one socket write
   * (nextTurn); alone, it goes at once: there is nothing to wait for.
   */
  private async publish(targets: Target[], payloads: Uint8Array[], expected: number[]): Promise<Ack> {
    if (this.unacknowledged > 0) await this.nextTurn();
    this.unacknowledged++;
    try {
      return await this.publishNow(targets, payloads, expected);
    } finally {
      this.unacknowledged--;
    }
  }

  private publishNow(targets: Target[], payloads: Uint8Array[], expected: number[]): Promise<Ack> {
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
      const count = targets.length;
      const unknown = (why: string, cause?: unknown) =>
        new StoreUnavailableError(`no acknowledgement from JetStream for a commit of ${count} record(s) (its outcome is unknown): ${why}`, { cause });
      return new Promise<Ack>((resolve, reject) => {
        this.request(targets[i]!.subject, payloads[i]!, h, {
          onReply: (m) => {
            const code = m.headers?.code ?? 0;
            if (code === 503) reject(new StoreUnavailableError(`no JetStream stream takes ${targets[i]!.subject} (no responders); is the stream there?`));
            else if (code !== 0) reject(unknown(`${code} ${m.headers?.description ?? ""}`));
            else {
              try {
                resolve(parseAck(m.string(), count));
              } catch (err) {
                reject(err);
              }
            }
            return true;
          },
          onTimeout: () => reject(unknown(`no answer within ${this.timeoutMs} ms`)),
          onClose: () => reject(unknown("the jetstream store was closed")),
        }).catch(reject);
      });
    }
    throw new Error("unreachable: a commit has at least one write");
  }

  /**
   * Publish with a reply subject on the store's one inbox and hand each reply
   * to `handler` until it says the request is answered. Cheaper than the
   * client's request(): no timer, promise or error object per request.
   */
  private async request(subject: string, payload: Uint8Array | string, headers: MsgHdrs | undefined, handler: Omit<PendingReply, "deadline">): Promise<void> {
    const id = String(++this.replySeq);
    this.pendingReplies.set(id, { ...handler, deadline: Date.now() + this.timeoutMs });
    try {
      this.nc.publish(subject, payload, { reply: `${this.replyInbox}.${id}`, ...(headers === undefined ? {} : { headers }) });
    } catch (err) {
      this.pendingReplies.delete(id);
      throw new StoreUnavailableError(`cannot send to JetStream: ${messageOf(err)}`, { cause: err });
    }
  }

  private onReply(m: Msg): void {
    const id = m.subject.slice(this.replyInbox.length + 1);
    const pending = this.pendingReplies.get(id);
    if (pending === undefined) return; // timed out already
    if (pending.onReply(m)) this.pendingReplies.delete(id);
  }

  private sweepReplies(): void {
    const now = Date.now();
    for (const [id, pending] of this.pendingReplies) {
      if (pending.deadline > now) continue;
      this.pendingReplies.delete(id);
      pending.onTimeout();
    }
  }

  /**
   * Resolves at the end of this turn of the event loop, for every caller of
   * the turn at once. The NATS client writes to its socket once per
   * microtask checkpoint; commits started by different requests (each its
   * own socket event) would each cost a write. Held to the end of the turn,
   * they go out together in one.
   */
  private nextTurn(): Promise<void> {
    this.turn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turn = undefined;
        resolve();
      }),
    );
    return this.turn;
  }

  /** The last message of a subject: its sequence and JSON text (null for a tombstone). */
  private last(stream: string, subject: string): Promise<Last | undefined> {
    this.counters.reads++;
    return new Promise((resolve, reject) => {
      const failed = (why: string) => reject(new StoreUnavailableError(`cannot read ${subject} from JetStream: ${why}`));
      this.request(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify({ last_by_subj: subject }), undefined, {
        onReply: (m) => {
          const code = m.headers?.code ?? 0;
          if (code === 404) resolve(undefined);
          else if (code !== 0) failed(`${code} ${m.headers?.description ?? ""}`);
          else resolve(this.lastOf(m));
          return true;
        },
        onTimeout: () => failed(`no answer within ${this.timeoutMs} ms`),
        onClose: () => failed("the jetstream store was closed during a read"),
      }).catch(reject);
    });
  }

  /**
   * The last messages of several subjects of one stream in one batched
   * direct get (`multi_last`); a subject without one is left out.
   */
  private lastOfMany(stream: string, subjects: string[]): Promise<Map<string, Last>> {
    this.counters.reads++;
    const found = new Map<string, Last>();
    return new Promise((resolve, reject) => {
      const failed = (why: string) => reject(new StoreUnavailableError(`cannot read ${subjects.length} records from ${stream}: ${why}`));
      const payload = JSON.stringify({ multi_last: subjects, batch: subjects.length });
      this.request(`$JS.API.DIRECT.GET.${stream}`, payload, undefined, {
        // One message per record found, then a status that ends the batch.
        onReply: (m) => {
          const code = m.headers?.code ?? 0;
          if (code === 204 || code === 404) resolve(found); // end of batch; no results
          else if (code !== 0) failed(`JetStream refused a batched read: ${code} ${m.headers?.description ?? ""}`);
          else {
            const subject = m.headers?.last("Nats-Subject") ?? "";
            found.set(subject, this.lastOf(m));
            return false;
          }
          return true;
        },
        onTimeout: () => failed(`no answer from JetStream within ${this.timeoutMs} ms`),
        onClose: () => failed("the jetstream store was closed during a read"),
      }).catch(reject);
    });
  }

  /** A direct get's message: its sequence and JSON text (null for a tombstone). */
  private lastOf(m: Msg): Last {
    return { seq: Number(m.headers?.last("Nats-Sequence")), json: m.data.length > 0 ? m.string() : null };
  }

  /** Start one ordered consumer per partition and wait until the view holds what each stream held at the start. */
  private async follow(): Promise<void> {
    this.nc.subscribe(`${this.replyInbox}.*`, { callback: (err, m) => (err === null ? this.onReply(m) : undefined) });
    this.replySweeper = setInterval(() => this.sweepReplies(), Math.max(20, Math.min(1_000, this.timeoutMs / 10)));
    this.replySweeper.unref();
    const heads: number[] = [];
    for (let p = 0; p < this.partitions; p++) {
      const stream = streamName(this.namespace, p);
      const info = await this.jsm.streams.info(stream);
      heads.push(info.state.last_seq);
      await this.followPartition(p);
    }
    void this.watchConnection();
    this.watchdog = setInterval(() => void this.checkFollowers(), FOLLOW_PULL_MS);
    this.watchdog.unref();
    await Promise.all(heads.map((seq, p) => this.view.waitFor(p, seq)));
  }

  /**
   * Feed the view from partition `p` with an ordered consumer that starts
   * after the last sequence applied. A consumer can stop delivering for good
   * when a NATS server dies with it: the client library then keeps asking
   * about it and only starts over on "consumer not found", which the
   * surviving servers may never say. So the watchdog (checkFollowers) replaces
   * a consumer that lags its stream; each consumer is a generation, and only
   * the current one feeds the view, so the view sees every sequence in order.
   */
  private async followPartition(p: number): Promise<void> {
    const stream = streamName(this.namespace, p);
    const from = this.view.appliedSequence(p) + 1;
    const consumer = await this.js.consumers.get(
      stream,
      from <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from },
    );
    // Current before the first message can come (it may, before consume() resolves).
    const generation: Follower = { lastActive: Date.now() };
    this.followers[p] = generation;
    let messages: ConsumerMessages;
    try {
      // A callback, not an async iterator: each message is applied where it is parsed, with no promise per message.
      messages = await consumer.consume({ expires: FOLLOW_PULL_MS, max_messages: FOLLOW_PULL_MESSAGES, callback: (m) => this.onFollowed(p, generation, m) });
    } catch (err) {
      if (this.followers[p] === generation) this.followers[p] = undefined;
      throw err;
    }
    generation.messages = messages;
    this.consumers[p] = messages;
    void messages
      .closed()
      .then((err) => {
        if (err && !this.closed) this.logger?.warn({ err, stream }, "a partition stream's consumer failed; following it anew");
      })
      .then(() => (this.closed || this.followers[p] !== generation ? undefined : this.refollow(p)));
  }

  /** One message of partition `p`'s consumer: into the view, unless a newer generation follows `p` now. */
  private onFollowed(p: number, generation: Follower, m: JsMsg): void {
    if (this.followers[p] !== generation) return;
    generation.lastActive = Date.now();
    // This store's own commits are often applied already, at their ack (see remember).
    const seq = m.seq;
    if (seq <= this.view.appliedSequence(p)) return;
    const keys = unitKeysOfSubject(m.subject);
    const texts = m.data.length === 0 ? keys.map(() => null) : decodeUnit(keys, m.string());
    this.view.apply(p, seq, keys, texts);
    const own = this.unapplied.get(keys[0]!);
    if (own !== undefined && own.seq <= seq) this.unapplied.delete(keys[0]!);
  }

  /** Follow partition `p` with a new consumer (the old one stalled or ended), retrying until it works or the store closes. */
  private async refollow(p: number): Promise<void> {
    const old = this.followers[p];
    this.followers[p] = undefined;
    old?.messages?.stop();
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        this.logger?.info({ partition: p, from: this.view.appliedSequence(p) + 1 }, "following a partition stream anew");
        await this.followPartition(p);
        return;
      } catch (err) {
        if (attempt === 0) this.logger?.warn({ err, partition: p }, "cannot follow a partition stream yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** attempt)));
      }
    }
  }

  /** The watchdog: a consumer quiet for a while whose stream holds more than the view applied is replaced. */
  private async checkFollowers(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      for (let p = 0; p < this.partitions; p++) {
        const follower = this.followers[p];
        if (follower === undefined || Date.now() - follower.lastActive < 2 * FOLLOW_PULL_MS) continue;
        let head: number;
        try {
          head = (await this.jsm.streams.info(streamName(this.namespace, p))).state.last_seq;
        } catch {
          continue; // the stream has no leader right now: look again at the next check
        }
        if (head > this.view.appliedSequence(p) && this.followers[p] === follower && !this.closed) {
          this.logger?.warn({ partition: p, applied: this.view.appliedSequence(p), head }, "a partition stream's consumer stalled; replacing it");
          void this.refollow(p);
        } else {
          follower.lastActive = Date.now();
        }
      }
    } finally {
      this.checking = false;
    }
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

/** How long one pull of a view's ordered consumer waits; its watchdog looks at this interval (see followPartition). */
const FOLLOW_PULL_MS = 4_000;
/**
 * Messages one pull of a view's consumer asks for; the client asks again when
 * a quarter is left to come. The library's 100 meant a pull request (a socket
 * write of its own) every 25 messages of a busy partition; a message is under a
 * kilobyte, so holding 1,000 per partition is cheap.
 */
const FOLLOW_PULL_MESSAGES = 1_000;

/** The keys of the unit a record subject holds (`<ns>.<partition>.<kind>.<token>`). */
function unitKeysOfSubject(subject: string): readonly string[] {
  const parts = subject.split(".");
  const prefix = PREFIX_OF_LETTER[parts[2] ?? ""];
  if (parts.length !== 4 || prefix === undefined) throw new Error(`not a record subject: ${subject}`);
  return unitKeys(prefix + decodeToken(parts[3]!));
}

/**
 * A unit's message text: a record alone is its JSON; a promise with its task
 * is `{"len":[P,T],"p":<promise>,"t":<task>}`, JSON a reader can split
 * without parsing (P and T are the members' lengths, -1 for one absent and
 * left out). Every record absent: empty, a tombstone.
 */
function encodeUnit(keys: readonly string[], texts: readonly (string | null)[]): Uint8Array {
  if (keys.length === 1) return texts[0] === null ? EMPTY : textEncoder.encode(texts[0]);
  const [p, t] = texts as [string | null, string | null];
  if (p === null && t === null) return EMPTY;
  return textEncoder.encode(`{"len":[${p?.length ?? -1},${t?.length ?? -1}]${p === null ? "" : `,"p":${p}`}${t === null ? "" : `,"t":${t}`}}`);
}

/** The member texts of a unit's (non-empty) message text. */
function decodeUnit(keys: readonly string[], text: string): (string | null)[] {
  if (keys.length === 1) return [text];
  const close = text.indexOf("]");
  const lengths = text.startsWith('{"len":[') && close > 0 ? text.slice(8, close).split(",").map(Number) : [];
  const texts: (string | null)[] = [];
  let at = close + 1;
  for (const [i, name] of ["p", "t"].entries()) {
    const length = lengths[i];
    if (length === -1) {
      texts.push(null);
      continue;
    }
    const member = `,"${name}":`;
    if (length === undefined || !Number.isInteger(length) || !text.startsWith(member, at)) return decodeUnitSlowly(text);
    texts.push(text.slice(at + member.length, at + member.length + length));
    at += member.length + length;
  }
  return at === text.length - 1 ? texts : decodeUnitSlowly(text);
}

/** decodeUnit for a text whose lengths do not fit (written by something else than this store): parsed. */
function decodeUnitSlowly(text: string): (string | null)[] {
  const unit = JSON.parse(text) as { p?: unknown; t?: unknown };
  return [unit.p === undefined ? null : JSON.stringify(unit.p), unit.t === undefined ? null : JSON.stringify(unit.t)];
}

/** The entry of `key` in its unit (undefined when absent). */
function memberOf(keys: readonly string[], key: string, unit: Unit): Entry | undefined {
  const text = unit.texts[keys.indexOf(key)];
  return text === null || text === undefined ? undefined : { key, value: JSON.parse(text), revision: unit.seq };
}

/**
 * The first write of `target` whose expectation `unit` does not meet:
 * a revision other than the unit's sequence, or a record that must not exist
 * and does, or that must and does not. Undefined: every one holds.
 */
function disagreement(target: Target, unit: Unit): { key: string; expected: number; found: number } | undefined {
  for (let i = 0; i < target.keys.length; i++) {
    const op = target.ops[i];
    if (op === undefined) continue;
    const present = unit.texts[i] !== null;
    const holds = op.expectedRevision === 0 ? !present : present && op.expectedRevision === unit.seq;
    if (!holds) return { key: op.key, expected: op.expectedRevision, found: present ? unit.seq : 0 };
  }
  return undefined;
}

const textEncoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A write's JSON text; null for a deletion (stored as an empty tombstone). */
function jsonOf(op: CommitOp): string | null {
  if (op.value === null || op.value === undefined) return null;
  const json = JSON.stringify(op.value);
  // JSON.stringify gives undefined for a top-level function or symbol: nothing storable.
  if (json === undefined) throw new TypeError(`a ${typeof op.value} cannot be stored; values are JSON records`);
  return json;
}

function parseAck(text: string, count: number): Ack {
  let ack: { seq?: number; count?: number; error?: { err_code?: number; description?: string } };
  try {
    ack = JSON.parse(text);
  } catch {
    throw new StoreUnavailableError(`JetStream answered a commit with something that is not an acknowledgement: ${text.slice(0, 200)}`);
  }
  if (ack.error !== undefined) {
    if (ack.error.err_code === WRONG_LAST_SEQUENCE || ack.error.err_code === WRONG_LAST_SEQUENCE_IN_FLIGHT) return { conflict: true, description: ack.error.description ?? "" };
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
    const m = await directGetWhenReady(jsm, stream, subject, timeoutMs);
    if (m !== null) return m.json<ClusterMetadata>();
    const h: MsgHdrs = natsHeaders();
    // Only the first node records it; a second one racing it reads the winner's.
    h.set("Nats-Expected-Last-Subject-Sequence", "0");
    const meta: ClusterMetadata = { ...wanted, layout: RECORD_LAYOUT, createdAt: new Date().toISOString() };
    await nc.request(subject, JSON.stringify(meta), { headers: h, timeout: timeoutMs });
  }
  throw new StoreUnavailableError(`could not read the cluster metadata from ${stream}`);
}

/**
 * The last message of `subject` by direct get, waiting (up to `timeoutMs`)
 * while nobody answers: a replicated stream just created answers direct gets
 * only once its replicas are up, a moment after its creation returned.
 */
async function directGetWhenReady(jsm: JetStreamManager, stream: string, subject: string, timeoutMs: number) {
  for (let delay = 50, waited = 0; ; waited += delay, delay = Math.min(delay * 2, 1_000)) {
    try {
      return await jsm.direct.getMessage(stream, { last_by_subj: subject });
    } catch (err) {
      if (!/no responders/i.test(messageOf(err)) || waited >= timeoutMs) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
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
