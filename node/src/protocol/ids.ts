// Promise id lineage. Our SDK joins child ids with '.', the official TS SDK
// 0.11.5 puts ':' between the origin and the rest; both are accepted.

/** The root of the execution tree an id belongs to. */
export function originOf(id: string): string {
  const colon = id.indexOf(":");
  if (colon !== -1) return id.slice(0, colon);
  const dot = id.indexOf(".");
  return dot === -1 ? id : id.slice(0, dot);
}

/** The id of the `seq`-th child of `parent`, as our SDK mints it. */
export function childId(parent: string, seq: number): string {
  return `${parent}.${seq}`;
}

/** True when `id` is `ancestor` or lies below it (separated by '.' or ':'). */
export function isDescendantOrSelf(id: string, ancestor: string): boolean {
  if (id === ancestor) return true;
  if (!id.startsWith(ancestor)) return false;
  const sep = id.charAt(ancestor.length);
  return sep === "." || sep === ":";
}

/**
 * True when two ids belong to one execution tree. Besides equal origins this
 * accepts an id below the other, because a dotted root (`my.app.wf`, legal for
 * SDK 0.11.5) has a different `originOf` than its ':'-children.
 */
export function sameOrigin(a: string, b: string): boolean {
  return originOf(a) === originOf(b) || isDescendantOrSelf(a, b) || isDescendantOrSelf(b, a);
}
