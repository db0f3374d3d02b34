// Issue 13, item 4: the Grafana dashboard (deploy/grafana/resonate-mesh.json)
// names only metrics a node exports. A node as in production (JetStream
// store on a real nats-server, tokens with a rate limit, so every optional
// family is there) is scraped, and each panel expression's metric names must
// be families of that scrape.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, stopAll } from "../support/processes.ts";
import { startNode } from "../support/node.ts";
import { useNats } from "../support/use-nats.ts";
import { AUDIENCE, ISSUER, keyDir, keyPair, mint, SecureNode } from "../security/support.ts";
import { familyOf, scrape, type Scrape } from "./prometheus.ts";

const DASHBOARD = join(repoRoot, "deploy/grafana/resonate-mesh.json");

// PromQL words that are not metric names.
const PROMQL_WORDS = new Set([
  ...["sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group"],
  ...["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"],
  ...["rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "abs", "ceil", "floor", "round", "clamp_min", "clamp_max"],
  ...["sum_over_time", "avg_over_time", "max_over_time", "min_over_time", "absent", "time", "vector", "scalar", "label_replace", "sort", "sort_desc"],
]);

/** The metric names an expression reads: its identifiers minus label matchers, grouping labels, range selectors, strings and PromQL words. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = stripped.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((n) => !PROMQL_WORDS.has(n)))];
}

interface Panel {
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

function expressions(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[] };
  const all: { panel: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) all.push({ panel: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return all;
}

const nats = useNats();
let node: SecureNode;
let exported: Scrape;

beforeAll(async () => {
  const pair = keyPair(keyDir(), "ES256");
  const auth = ["--auth-public-key", pair.publicFile, "--auth-issuer", ISSUER, "--auth-audience", AUDIENCE, "--rate-limit", "1"];
  node = new SecureNode(await startNode({ serve: true, args: ["--store", "jetstream", "--nats", nats.url, ...auth] }));
  const token = await mint(pair, { claims: { prefix: "dash/" } });
  // Two at once with a rate of 1/s: one refusal, so the rate-limit family has a sample too.
  await Promise.all([node.grpc({ kind: "promise.get", data: { id: "dash/none" } }, token), node.grpc({ kind: "promise.get", data: { id: "dash/none" } }, token)]);
  exported = await scrape(node.url);
}, 120_000);

afterAll(async () => {
  await node?.proc.stop();
  await stopAll();
});

describe("the Grafana dashboard", () => {
  it("has panels with expressions", () => {
    expect(expressions().length).toBeGreaterThanOrEqual(10);
  });

  it("reads at least one metric in every expression", () => {
    for (const { panel, expr } of expressions()) expect(metricNames(expr), `${panel}: ${expr}`).not.toEqual([]);
  });

  it("names only metrics the node exports", () => {
    const missing: string[] = [];
    for (const { panel, expr } of expressions()) {
      for (const name of metricNames(expr)) if (familyOf(name, exported.families) === undefined) missing.push(`${name} (panel "${panel}")`);
    }
    expect(missing).toEqual([]);
  });

  it("comes from a node that reports its NATS connection up", () => {
    expect(exported.value("resonate_nats_connected")).toBe(1);
  });

  it("reads the names apart from PromQL (the checker itself)", () => {
    expect(metricNames('histogram_quantile(0.99, sum by (le, kind) (rate(resonate_x_bucket{kind!~"a|b"}[5m])))')).toEqual(["resonate_x_bucket"]);
  });
});
