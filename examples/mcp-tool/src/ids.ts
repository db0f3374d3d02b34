import { createHash } from "node:crypto";

/**
 * The promise id of a research: a function of the input only, so the same
 * topic (whatever its case and spacing) is the same promise, run once. The
 * hash keeps topics apart whose readable slugs agree ("C++" and "C").
 */
export function promiseIdFor(topic: string): string {
  const normal = topic.trim().toLowerCase().replace(/\s+/g, " ");
  const slug = normal.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);
  const hash = createHash("sha256").update(normal).digest("hex").slice(0, 8);
  return `research-${slug}-${hash}`;
}
