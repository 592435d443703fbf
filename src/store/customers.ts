import type { ClickHouseClient } from '@clickhouse/client';
import { chTime } from './writer.js';
import { select } from './select.js';
import { setClusterStatus } from './trends.js';
import { CLUSTER_STATUSES } from '../trends/alerts.js';
import { oneLine } from '../text/normalize.js';

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
export async function affectedCustomers(client: ClickHouseClient, clusterId: string, sinceMs: number, limit?: number): Promise<AffectedRow[] | null> {
  if (!(await clusterExists(client, clusterId))) return null;
  return select<AffectedRow>(
    client,
    `SELECT customer_id, toUInt64(uniqExact(case_id)) AS cases, toUInt64(count()) AS contacts,
                   arraySort(groupUniqArray(toString(channel))) AS channels,
                   toString(min(occurred_at)) AS first_contact, toString(max(occurred_at)) AS last_contact,
                   arraySort(groupUniqArray(case_id)) AS case_ids
            FROM assignments
            WHERE cluster_id = {id:String} AND occurred_at >= fromUnixTimestamp64Milli({since:Int64}) AND customer_id != ''
            GROUP BY customer_id ORDER BY last_contact DESC, customer_id
            ${limit === undefined ? '' : 'LIMIT {limit:UInt32}'}`,
    { id: clusterId, since: sinceMs, ...(limit === undefined ? {} : { limit }) },
  );
}

/** Why a status is refused, or null: the CLI and the serving process's API say the same. */
export function statusProblem(status: string): string | null {
  return (CLUSTER_STATUSES as readonly string[]).includes(status) ? null : `status must be one of ${CLUSTER_STATUSES.join(', ')}; got "${status}"`;
}

/** The longest note a status change keeps. */
export const MAX_NOTE_CHARS = 2000;

/** Why a status change's note is refused, or null. */
export function noteProblem(note: string): string | null {
  return [...note].length <= MAX_NOTE_CHARS ? null : `a note is at most ${MAX_NOTE_CHARS} characters; got ${[...note].length}`;
}

/** Why a team name is refused, or null. */
export function teamProblem(team: string): string | null {
  return /^[\w.-]{1,64}$/.test(team) ? null : `team names are 1 to 64 letters, digits, "_", "-" and "."; got "${team}"`;
}

/**
 * `recur status set`, by whichever process holds the store: null when there is no such cluster; else the
 * cluster's state (merged into another, retired; undefined before its first checkpoint), for what to tell the user.
 */
export async function markClusterStatus(
  client: ClickHouseClient,
  clusterId: string,
  status: string,
  note: string,
  nowMs: number,
): Promise<{ state?: string; merged_into?: string } | null> {
  if (!(await clusterExists(client, clusterId))) return null;
  // One line of text: control characters (line breaks, terminal escapes, bidi overrides) would rewrite the screen of whoever reads it in `recur show`.
  await setClusterStatus(client, clusterId, status, oneLine(note), nowMs);
  return (await clusterState(client, clusterId)) ?? {};
}

/** `recur owner set|unset` (team ''), by whichever process holds the store: false when there is no such cluster. */
export async function pinClusterOwner(client: ClickHouseClient, clusterId: string, team: string, nowMs: number): Promise<boolean> {
  if (!(await clusterExists(client, clusterId))) return false;
  await pinOwner(client, clusterId, team, nowMs);
  return true;
}

export async function pinOwner(client: ClickHouseClient, clusterId: string, owner: string, nowMs: number): Promise<void> {
  await client.insert({ table: 'cluster_owner_pins', values: [{ cluster_id: clusterId, owner, changed_at: chTime(nowMs) }], format: 'JSONEachRow' });
}

export async function ownerPins(client: ClickHouseClient): Promise<Map<string, string>> {
  const rs = await client.query({ query: 'SELECT cluster_id, owner FROM cluster_owner_pins FINAL', format: 'JSONEachRow' });
  const rows = await rs.json<{ cluster_id: string; owner: string }>();
  return new Map(rows.filter((r) => r.owner !== '').map((r) => [r.cluster_id, r.owner]));
}

/** The pins as rows, as `recur owner --json` and /api/owners give them. */
export async function ownerPinRows(client: ClickHouseClient): Promise<{ cluster_id: string; owner: string }[]> {
  return [...(await ownerPins(client))].map(([cluster_id, owner]) => ({ cluster_id, owner }));
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
