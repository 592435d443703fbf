import type { ClickHouseClient } from '@clickhouse/client';
import type { OwnersConfig } from '../owners/index.js';
import type { CostConfig } from '../owners/index.js';
import { clusterRoute, hourStartMs, pricedCosts, type Describe } from './cost.js';
import { select } from './select.js';

export interface ClusterSummary {
  cluster_id: string;
  label: string;
  top_terms: string[];
  contacts: number;
  cases: number;
  customers: number;
  cost: number;
  first_seen: string;
  last_seen: string;
  /** live, or merged (into `merged_into`) or retired: its history stays under its own id. */
  state: string;
  merged_into: string;
}

/** The most clusters one listing returns, from the store or through a serving process's API alike. */
export const MAX_LIST_LIMIT = 10_000;

/**
 * The clusters with most distinct cases since `sinceMs` (from the start of its hour, as cluster_counts has them:
 * a window leaves out none of the contacts `recur affected` lists for it).
 * With `cost`, their cost is priced by that model (`recur cost`'s: channel prices and the hourly rate for
 * contacts without a cost of their own); without it, the sum of the costs the events carried.
 */
export async function topClusters(client: ClickHouseClient, opts: { sinceMs?: number; limit: number; cost?: CostConfig }): Promise<ClusterSummary[]> {
  const rows = await select<ClusterSummary>(
    client,
    `SELECT c.cluster_id AS cluster_id, any(v.label) AS label, any(v.top_terms) AS top_terms,
            toUInt64(sum(c.contacts)) AS contacts, toUInt64(uniqExactMerge(c.cases)) AS cases,
            toUInt64(uniqExactMerge(c.customers)) AS customers, round(sum(c.cost), 2) AS cost,
            toString(min(c.bucket)) AS first_seen, toString(max(c.bucket)) AS last_seen,
            if(any(v.state) = '', 'live', any(v.state)) AS state, any(v.merged_into) AS merged_into
     FROM cluster_counts AS c LEFT JOIN v_clusters AS v ON v.cluster_id = c.cluster_id
     WHERE c.bucket >= fromUnixTimestamp64Milli({since:Int64})
     GROUP BY c.cluster_id ORDER BY cases DESC, cluster_id LIMIT {limit:UInt32}`,
    { since: hourStartMs(opts.sinceMs ?? 0), limit: opts.limit },
  );
  if (!opts.cost || rows.length === 0) return rows;
  const priced = await pricedCosts(client, opts.cost, rows.map((r) => r.cluster_id), opts.sinceMs ?? 0);
  return rows.map((r) => ({ ...r, cost: priced.get(r.cluster_id) ?? 0 }));
}

export async function clusterDetail(
  client: ClickHouseClient,
  clusterId: string,
  repeatWindowDays = 7,
  owners?: OwnersConfig,
  /** The owner is routed by it. */
  describe?: Describe,
) {
  // A cluster is described at the model's next checkpoint; until then its stored events say what it is.
  const [described] = await select<Record<string, unknown>>(client, 'SELECT * FROM v_clusters WHERE cluster_id = {id:String}', { id: clusterId });
  const [meta] = described
    ? [described]
    : await select<Record<string, unknown>>(
        client,
        `SELECT cluster_id, '' AS label, CAST([], 'Array(String)') AS top_terms, CAST([], 'Array(String)') AS examples, toUInt64(count()) AS size,
                min(occurred_at) AS first_seen, max(occurred_at) AS last_seen, max(model_version) AS model_version, 'live' AS state,
                '' AS merged_into, max(ingested_at) AS updated_at
         FROM assignments WHERE cluster_id = {id:String} GROUP BY cluster_id`,
        { id: clusterId },
      );
  if (!meta) return null;
  // Where the problem stands and who owns it: what a reader of one cluster acts on.
  const [status] = await select<{ status: string; status_changed_at: string; status_note: string }>(
    client,
    'SELECT toString(status) AS status, toString(changed_at) AS status_changed_at, note AS status_note FROM cluster_status FINAL WHERE cluster_id = {id:String}',
    { id: clusterId },
  );
  const route = owners ? await clusterRoute(client, owners, clusterId, describe) : undefined;
  const daily = await select<Record<string, unknown>>(
    client,
    `SELECT toString(day) AS day, toUInt64(contacts) AS contacts, toUInt64(cases) AS cases, toUInt64(customers) AS customers
     FROM v_cluster_daily WHERE cluster_id = {id:String} ORDER BY day`,
    { id: clusterId },
  );
  const channels = await select<{ channel: string; contacts: number }>(
    client,
    `SELECT toString(channel) AS channel, toUInt64(count()) AS contacts FROM assignments
     WHERE cluster_id = {id:String} GROUP BY channel ORDER BY contacts DESC`,
    { id: clusterId },
  );
  const [repeats] = await select<{ contacts: number; repeat_contacts: number }>(
    client,
    `SELECT toUInt64(sum(contacts)) AS contacts, toUInt64(sum(repeat_contacts)) AS repeat_contacts
     FROM v_repeat_contacts(window_days = {days:UInt32}) WHERE cluster_id = {id:String}`,
    { id: clusterId, days: repeatWindowDays },
  );
  return {
    ...meta,
    status: status?.status ?? 'open',
    status_changed_at: status?.status_changed_at ?? null,
    status_note: status?.status_note ?? '',
    ...(route ? { owner: route.owner, owner_reason: route.reason } : {}),
    daily,
    channels,
    repeat_window_days: repeatWindowDays,
    repeat_contacts: repeats?.repeat_contacts ?? 0,
  };
}

export async function ingestSummary(client: ClickHouseClient) {
  const [events] = await select<{ events: number; cases: number; customers: number; masked: number }>(
    client,
    `SELECT toUInt64(count()) AS events, toUInt64(uniqExact(case_id)) AS cases,
            toUInt64(uniqExactIf(customer_id, customer_id != '')) AS customers, toUInt64(countIf(pii_masked > 0)) AS masked
     FROM case_events`,
  );
  const dead = await select<{ reason_code: string; n: number }>(
    client,
    'SELECT toString(reason_code) AS reason_code, toUInt64(count()) AS n FROM dead_letters GROUP BY reason_code ORDER BY n DESC',
  );
  return { ...events!, dead_letters: dead };
}
