// The TypeScript workflow of the polyglot example. For every document it
// calls two functions by name in two other languages, all at once: Python's
// "wordStats" (group py-workers) and Go's "fingerprint" (group go-workers),
// then combines their answers. Each call is a durable promise: a crashed
// worker's replay finds the answers already recorded.

import type { Context, DurableFuture } from "@resonate-mesh/sdk";

export interface Doc {
  name: string;
  text: string;
}

/** What Python's wordStats answers. */
interface WordStats {
  words: number;
  top: string | null;
}

/** What Go's fingerprint answers; fnv1a64 is a uint64, beyond 2^53 as a rule. */
interface Fingerprint {
  bytes: number;
  fnv1a64: bigint | number;
}

export interface DocReport extends WordStats, Fingerprint {
  name: string;
}

export interface Analysis {
  documents: DocReport[];
  totalWords: number;
}

export const PY_GROUP = "py-workers";
export const GO_GROUP = "go-workers";

/** Registered as "analyze"; the Python durable function "report" calls it with ctx.rpc. */
export async function analyze(ctx: Context, docs: Doc[]): Promise<Analysis> {
  const calls: Array<[DurableFuture<WordStats>, DurableFuture<Fingerprint>]> = [];
  for (const doc of docs) {
    // spawn(): start both calls now and take a future, so every call runs in parallel.
    const stats = await ctx.rpc<WordStats>("wordStats", doc.text).target(`poll://any@${PY_GROUP}`).spawn();
    const print = await ctx.rpc<Fingerprint>("fingerprint", doc.text).target(`poll://any@${GO_GROUP}`).spawn();
    calls.push([stats, print]);
  }
  const documents: DocReport[] = [];
  for (const [i, [stats, print]] of calls.entries()) {
    documents.push({ name: docs[i]!.name, ...(await stats.result()), ...(await print.result()) });
  }
  console.log(`[ts worker] ${ctx.id}: ${documents.length} documents analyzed in Python and Go`);
  return { documents, totalWords: documents.reduce((sum, d) => sum + d.words, 0) };
}
