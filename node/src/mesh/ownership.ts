// Which live node owns which partition: rendezvous (highest random weight)
// hashing, so every node computes the same owner from the same member list,
// and a node leaving moves only its own partitions.

import { partitionOf } from "../protocol/keys.ts";

/** The owner of `partition` among `members` (undefined when there are none). */
export function ownerOf(partition: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const m of members) {
    const w = weight(`${m}\u0000${partition}`);
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** The partitions of `partitions` that `nodeId` owns among `members`, in order. */
export function partitionsOwnedBy(nodeId: string, partitions: number, members: readonly string[]): number[] {
  const owned: number[] = [];
  for (let p = 0; p < partitions; p++) if (ownerOf(p, members) === nodeId) owned.push(p);
  return owned;
}

/** Does `nodeId` own the partition of `key`? */
export function ownsKey(key: string, partitions: number, nodeId: string, members: readonly string[]): boolean {
  return ownerOf(partitionOf(key, partitions), members) === nodeId;
}

/** A 32-bit mix of FNV-1a (murmur3's finaliser spreads nearby inputs). */
function weight(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
