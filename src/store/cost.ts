import type { ClickHouseClient } from '@clickhouse/client';
import { routeOwner, type CostConfig, type OwnerRoute, type OwnerRule, type OwnersConfig } from '../owners/index.js';
import { ownerPins } from './customers.js';
import { select } from './select.js';

export interface ClusterCostRow {
  cluster_id: string;
  label: string;
  top_terms: string[];
  status: string;
  contacts: number;
  cases: number;
  customers: number;
  cost: number;
  channels: string[];
  products: string[];
  categories: string[];
}

/**
 * The cost model in SQL, with every number bound as a parameter: an event's own cost wins, then
 * handle time × hourly rate when a rate is configured, then the channel's per-contact price
 * (owners/cost.ts `contactCost` is the same rule for one contact).
 */
function costParams(cfg: CostConfig) {
  const channels = Object.keys(cfg.perContact);
  return {
    expr: `multiIf(isNotNull(cost), cost, {rate:Float64} > 0 AND isNotNull(handle_seconds), assumeNotNull(handle_seconds) * {rate:Float64} / 3600,
                   transform(toString(channel), {chs:Array(String)}, {prices:Array(Float64)}, {other:Float64}))`,
    params: {
      rate: cfg.hourlyRate ?? 0,
      chs: channels,
      prices: channels.map((c) => (cfg.perContact as Record<string, number>)[c] ?? 0),
      other: (cfg.perContact as Record<string, number>)['other'] ?? 0,
    },
  };
}

/**
 * A running pipeline's live model describing the rows whose cluster the store does not describe yet (label,
 * terms): owner routing reads them. Rows it does not know come back as they were.
 */
export type Describe = <T extends { cluster_id: string; label: string }>(rows: T[]) => T[];

/**
 * The charge-back per cluster since `sinceMs` (`recur cost`): its cost under the cost model and the owner its
 * routing rules or a pin give it; resolved clusters only with `includeResolved`.
 */
export async function chargeBack(
  client: ClickHouseClient,
  owners: OwnersConfig,
  sinceMs: number,
  includeResolved: boolean,
  describe?: Describe,
): Promise<(ClusterCostRow & { owner: string })[]> {
  // From the start of `sinceMs`'s hour, as recur clusters counts them, so the two agree at the window's edge.
  const [rows, pins] = await Promise.all([clusterCosts(client, owners.cost, sinceMs, undefined, true, owners.rules), ownerPins(client)]);
  return (describe ? describe(rows) : rows)
    .filter((r) => includeResolved || r.status !== 'resolved')
    .map((r) => ({
      ...r,
      owner: routeOwner({ clusterId: r.cluster_id, label: r.label, topTerms: r.top_terms, products: r.products, categories: r.categories, channels: r.channels }, owners, pins).owner,
    }));
}

/**
 * The start of `ms`'s hour in UTC, as cluster_counts buckets events, and not before 1970 (a window reaching
 * further holds everything). Computed here, not by ClickHouse's toStartOfHour: that takes the session's zone
 * (chDB's is the process's TZ), where an hour can start at half past (India) and 1970's first hour wraps round.
 */
export function hourStartMs(ms: number): number {
  return Math.max(0, Math.floor(ms / 3_600_000) * 3_600_000);
}

/** Charge-back per owner team (`recur cost --by owner`). */
export interface OwnerTotal {
  owner: string;
  clusters: number;
  /** Distinct cases over all the owner's clusters: a case whose messages fall in two of them counts once. */
  cases: number;
  contacts: number;
  cost: number;
}

/**
 * chargeBack's rows summed per owner, most costly first. An owner's cases are its clusters' distinct cases less
 * those counted more than once: a case whose messages fell in k of one owner's clusters was counted k times. Only
 * the cases in two clusters or more are read, as their sets of clusters (no cluster id is bound: a server refuses
 * a request URI over 1 MiB, and binding every cluster's id and owner reached it at ~30,000 clusters).
 */
export async function ownerTotals(client: ClickHouseClient, rows: readonly (ClusterCostRow & { owner: string })[], sinceMs: number): Promise<OwnerTotal[]> {
  const owners = new Map<string, OwnerTotal>();
  const ownerOf = new Map<string, OwnerTotal>();
  for (const r of rows) {
    const o = owners.get(r.owner) ?? { owner: r.owner, clusters: 0, cases: 0, contacts: 0, cost: 0 };
    o.clusters++;
    o.cases += Number(r.cases);
    o.contacts += Number(r.contacts);
    o.cost = Math.round((o.cost + Number(r.cost)) * 100) / 100;
    owners.set(r.owner, o);
    ownerOf.set(r.cluster_id, o);
  }
  if (rows.length > 1) {
    const shared = await select<{ clusters: string[]; cases: number }>(
      client,
      `SELECT clusters, toUInt64(count()) AS cases FROM (
         SELECT arraySort(groupUniqArray(cluster_id)) AS clusters FROM assignments
         WHERE occurred_at >= fromUnixTimestamp64Milli({since:Int64}) AND cluster_id != ''
         GROUP BY case_id HAVING length(clusters) > 1)
       GROUP BY clusters`,
      { since: hourStartMs(sinceMs) },
    );
    for (const { clusters, cases } of shared) {
      const times = new Map<OwnerTotal, number>();
      for (const id of clusters) {
        const o = ownerOf.get(id);
        if (o) times.set(o, (times.get(o) ?? 0) + 1);
      }
      for (const [o, k] of times) o.cases -= (k - 1) * Number(cases);
    }
  }
  return [...owners.values()].sort((a, b) => b.cost - a.cost || a.owner.localeCompare(b.owner));
}

/** Cost under the cost model per cluster, of the events from the start of `sinceMs`'s hour on (cluster_counts' buckets). */
export async function pricedCosts(client: ClickHouseClient, cfg: CostConfig, clusterIds: readonly string[], sinceMs: number): Promise<Map<string, number>> {
  const { expr, params } = costParams(cfg);
  const rows = await select<{ cluster_id: string; cost: number }>(
    client,
    `SELECT cluster_id, round(sum(${expr}), 2) AS cost FROM assignments
     WHERE cluster_id IN {ids:Array(String)} AND occurred_at >= fromUnixTimestamp64Milli({since:Int64})
     GROUP BY cluster_id`,
    { ...params, ids: clusterIds, since: hourStartMs(sinceMs) },
  );
  return new Map(rows.map((r) => [r.cluster_id, Number(r.cost)]));
}

/**
 * The products and categories routing rules name, lower-cased: a cluster's lists carry each of them it has,
 * beyond the 16 of each kept to show (16 arbitrary ones left a rule's product out, and routed its alert to
 * another team).
 */
export function namedByRules(rules: readonly Pick<OwnerRule, 'products' | 'categories'>[]): { products: string[]; categories: string[] } {
  const lower = (xs: (string[] | undefined)[]) => [...new Set(xs.flatMap((x) => x ?? []).map((v) => v.toLowerCase()))];
  return { products: lower(rules.map((r) => r.products)), categories: lower(rules.map((r) => r.categories)) };
}

/** Per cluster since `sinceMs` (with `wholeHours`, from the start of its hour, as cluster_counts buckets events): volume and cost under the cost model, with what routing needs. */
export async function clusterCosts(
  client: ClickHouseClient,
  cfg: CostConfig,
  sinceMs: number,
  clusterIds?: string[],
  wholeHours = false,
  /** Routing rules: their products and categories are in a cluster's lists whenever it has them. */
  rules: readonly Pick<OwnerRule, 'products' | 'categories'>[] = [],
): Promise<ClusterCostRow[]> {
  const { expr, params } = costParams(cfg);
  const named = namedByRules(rules);
  return select<ClusterCostRow>(
    client,
    `SELECT a.cluster_id AS cluster_id, ifNull(any(v.label), '') AS label, ifNull(any(v.top_terms), []) AS top_terms,
                   ifNull(any(s.status), 'open') AS status,
                   toUInt64(count()) AS contacts, toUInt64(uniqExact(a.case_id)) AS cases,
                   toUInt64(uniqExactIf(a.customer_id, a.customer_id != '')) AS customers,
                   round(sum(${expr}), 2) AS cost,
                   arraySort(groupUniqArray(toString(a.channel))) AS channels,
                   arraySort(arrayDistinct(arrayConcat(groupUniqArrayIf(16)(toString(a.product), a.product != ''),
                     groupUniqArrayIf(toString(a.product), lowerUTF8(toString(a.product)) IN {namedProducts:Array(String)})))) AS products,
                   arraySort(arrayDistinct(arrayConcat(groupUniqArrayIf(16)(toString(a.category), a.category != ''),
                     groupUniqArrayIf(toString(a.category), lowerUTF8(toString(a.category)) IN {namedCategories:Array(String)})))) AS categories
            FROM assignments AS a
            LEFT JOIN v_clusters AS v ON v.cluster_id = a.cluster_id
            LEFT JOIN (SELECT cluster_id, toString(status) AS status FROM cluster_status FINAL) AS s ON s.cluster_id = a.cluster_id
            WHERE a.occurred_at >= fromUnixTimestamp64Milli({since:Int64}) AND a.cluster_id != ''
              ${clusterIds ? 'AND a.cluster_id IN {ids:Array(String)}' : ''}
            GROUP BY a.cluster_id ORDER BY cost DESC, cluster_id`,
    { ...params, since: wholeHours ? hourStartMs(sinceMs) : Math.max(0, sinceMs), namedProducts: named.products, namedCategories: named.categories, ...(clusterIds ? { ids: clusterIds } : {}) },
    { join_use_nulls: 1 },
  );
}

export interface EpisodeWindow {
  clusterId: string;
  startMs: number;
  endMs: number;
}

export interface WindowTotals {
  cases: number;
  customers: number;
  cost: number;
  channels: string[];
}

export function windowKey(w: EpisodeWindow): string {
  return `${w.clusterId}|${w.startMs}|${w.endMs}`;
}

/**
 * An alert's totals: distinct cases and customers, cost under the cost model and channels of each cluster
 * in its own episode's window [startMs, endMs), keyed by windowKey. One query for a whole routing batch:
 * each stored row is paired only with its own cluster's windows.
 */
export async function windowTotals(client: ClickHouseClient, cfg: CostConfig, windows: readonly EpisodeWindow[]): Promise<Map<string, WindowTotals>> {
  if (windows.length === 0) return new Map();
  const byCluster = new Map<string, number[][]>();
  for (const w of windows) {
    const list = byCluster.get(w.clusterId) ?? [];
    if (!list.some(([s, e]) => s === w.startMs && e === w.endMs)) list.push([w.startMs, w.endMs]);
    byCluster.set(w.clusterId, list);
  }
  const { expr, params } = costParams(cfg);
  const rows = await select<{ cluster_id: string; start: number; end: number; cases: number; customers: number; cost: number; channels: string[] }>(
    client,
    `WITH mapFromArrays({cids:Array(String)}, {wins:Array(Array(Array(Int64)))}) AS wm
     SELECT cluster_id, w[1] AS start, w[2] AS end, toUInt64(uniqExact(case_id)) AS cases,
            toUInt64(uniqExactIf(customer_id, customer_id != '')) AS customers, round(sum(${expr}), 2) AS cost,
            arraySort(groupUniqArray(toString(channel))) AS channels
       FROM assignments ARRAY JOIN wm[cluster_id] AS w
      WHERE cluster_id IN {cids:Array(String)}
        AND occurred_at >= fromUnixTimestamp64Milli({since:Int64}) AND occurred_at < fromUnixTimestamp64Milli({until:Int64})
        AND toUnixTimestamp64Milli(occurred_at) >= w[1] AND toUnixTimestamp64Milli(occurred_at) < w[2]
      GROUP BY cluster_id, start, end`,
    {
      ...params,
      cids: [...byCluster.keys()],
      wins: [...byCluster.values()],
      since: Math.min(...windows.map((w) => w.startMs)),
      until: Math.max(...windows.map((w) => w.endMs)),
    },
  );
  return new Map(
    rows.map((r) => [
      windowKey({ clusterId: r.cluster_id, startMs: Number(r.start), endMs: Number(r.end) }),
      { cases: Number(r.cases), customers: Number(r.customers), cost: Number(r.cost), channels: r.channels },
    ]),
  );
}

/** Representative masked examples for alert payloads. */
export async function clusterExamples(client: ClickHouseClient, ids: string[]): Promise<Map<string, string[]>> {
  if (ids.length === 0) return new Map();
  const rs = await client.query({
    query: 'SELECT cluster_id, examples FROM v_clusters WHERE cluster_id IN {ids:Array(String)}',
    query_params: { ids },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ cluster_id: string; examples: string[] }>();
  return new Map(rows.map((r) => [r.cluster_id, r.examples]));
}

/** Who owns a cluster and why (pinned, a routing rule, or the default), from its stored terms and contacts. */
export async function clusterRoute(
  client: ClickHouseClient,
  owners: OwnersConfig,
  clusterId: string,
  describe?: Describe,
): Promise<OwnerRoute> {
  const [rows, pins] = await Promise.all([clusterCosts(client, owners.cost, 0, [clusterId], false, owners.rules), ownerPins(client)]);
  const [row] = describe ? describe(rows) : rows;
  return routeOwner(
    { clusterId, label: row?.label ?? '', topTerms: row?.top_terms ?? [], products: row?.products ?? [], categories: row?.categories ?? [], channels: row?.channels ?? [] },
    owners,
    pins,
  );
}
