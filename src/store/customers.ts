import type { ClickHouseClient } from '@clickhouse/client';
import { chTime } from './writer.js';
import { select } from './select.js';

export interface AffectedRow {
  customer_id: string;
  cases: number;
  contacts: number;
  channels: string[];
  first_contact: string;
  last_contact: string;
  case_ids: string[];
}

/**
 * Customers (and their cases) on a cluster since a time: whom to tell when the fix ships. Null when there is no
 * such cluster (none of its events is stored), [] when nobody contacted about it in the window.
 */
export async function affectedCustomers(client: ClickHouseClient, clusterId: string, sinceMs: number): Promise<AffectedRow[] | null> {
  if (!(await clusterExists(client, clusterId))) return null;
  return select<AffectedRow>(
    client,
    `SELECT customer_id, toUInt64(uniqExact(case_id)) AS cases, toUInt64(count()) AS contacts,
                   arraySort(groupUniqArray(toString(channel))) AS channels,
                   toString(min(occurred_at)) AS first_contact, toString(max(occurred_at)) AS last_contact,
                   arraySort(groupUniqArray(case_id)) AS case_ids
            FROM assignments
            WHERE cluster_id = {id:String} AND occurred_at >= fromUnixTimestamp64Milli({since:Int64}) AND customer_id != ''
            GROUP BY customer_id ORDER BY last_contact DESC, customer_id`,
    { id: clusterId, since: sinceMs },
  );
}

export async function pinOwner(client: ClickHouseClient, clusterId: string, owner: string, nowMs: number): Promise<void> {
  await client.insert({ table: 'cluster_owner_pins', values: [{ cluster_id: clusterId, owner, changed_at: chTime(nowMs) }], format: 'JSONEachRow' });
}

export async function ownerPins(client: ClickHouseClient): Promise<Map<string, string>> {
  const rs = await client.query({ query: 'SELECT cluster_id, owner FROM cluster_owner_pins FINAL', format: 'JSONEachRow' });
  const rows = await rs.json<{ cluster_id: string; owner: string }>();
  return new Map(rows.filter((r) => r.owner !== '').map((r) => [r.cluster_id, r.owner]));
}

export async function clusterExists(client: ClickHouseClient, clusterId: string): Promise<boolean> {
  const [r] = await select<{ n: number }>(
    client,
    'SELECT count() AS n FROM assignments WHERE cluster_id = {id:String}',
    { id: clusterId },
  );
  return Number(r?.n ?? 0) > 0;
}

/** Whether a cluster is live, merged (and into which) or retired; undefined before its first checkpoint. */
export async function clusterState(client: ClickHouseClient, clusterId: string): Promise<{ state: string; merged_into: string } | undefined> {
  const [r] = await select<{ state: string; merged_into: string }>(
    client,
    'SELECT toString(state) AS state, merged_into FROM v_clusters WHERE cluster_id = {id:String}',
    { id: clusterId },
  );
  return r;
}
