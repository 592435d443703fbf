import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { ANONYMOUS_CUSTOMER, isFixedStatus, type Episode } from '../trends/index.js';
import { chTime, insertIdempotent } from './writer.js';
import { select } from './select.js';

export interface BucketCounts {
  clusterId: string;
  cases: number;
  customers: number;
  customerIds: string[];
  /** Up to 256 of the bucket's case ids (a young cluster's `new` gate counts a case once across buckets). */
  caseIds: string[];
}

interface CountRow {
  h: number;
  cluster_id: string;
  cases: number;
  customers: number;
  ids: string[];
  case_ids: string[];
}

/**
 * What the trend stage counts: assigned events not dated more than `maxFutureMs` after their arrival (the
 * live stage keeps those out of detection, so a rebuild must too, even once the clock has passed them).
 */
const ON_TIME = `cluster_id != '' AND occurred_at <= addMilliseconds(ingested_at, {future:Int64})`;

/**
 * The customer the trend gates count an event under: its customer_id, or for an event without one (optional in
 * the contract: web forms, social posts) its case, as a customer of its own. Counted as nobody, such cases could
 * never pass a customer gate, and a cluster of them raised no alert of any kind however large its surge.
 */
const GATE_CUSTOMER = `if(customer_id != '', customer_id, concat({anon:String}, case_id))`;

/** Distinct cases and customers per cluster, and with `byHour` per UTC hour (`h`, else 0), in [startMs, endMs). */
function countRows(client: ClickHouseClient, startMs: number, endMs: number, maxFutureMs: number, byHour: boolean): Promise<CountRow[]> {
  const hour = byHour ? 'toInt64(toUnixTimestamp(toStartOfHour(occurred_at))) * 1000' : 'toInt64(0)'; // a fixed expression of ours
  return select<CountRow>(
    client,
    `SELECT ${hour} AS h, cluster_id, toUInt32(uniqExact(case_id)) AS cases,
                   toUInt32(uniqExact(${GATE_CUSTOMER})) AS customers,
                   groupUniqArray(256)(${GATE_CUSTOMER}) AS ids, groupUniqArray(256)(case_id) AS case_ids
            FROM assignments
            WHERE occurred_at >= fromUnixTimestamp64Milli({start:Int64}) AND occurred_at < fromUnixTimestamp64Milli({end:Int64})
              AND ${ON_TIME}
            GROUP BY h, cluster_id ORDER BY h, cluster_id`,
    { start: startMs, end: endMs, future: Math.floor(maxFutureMs), anon: ANONYMOUS_CUSTOMER },
  );
}

function toBucketCounts(r: CountRow): BucketCounts {
  return { clusterId: r.cluster_id, cases: r.cases, customers: r.customers, customerIds: [...r.ids].sort(), caseIds: [...r.case_ids].sort() };
}

/** Distinct cases and customers per cluster for events in [startMs, endMs): one closed bucket. */
export async function bucketCounts(client: ClickHouseClient, startMs: number, endMs: number, maxFutureMs: number): Promise<BucketCounts[]> {
  return (await countRows(client, startMs, endMs, maxFutureMs, false)).map(toBucketCounts);
}

/**
 * bucketCounts for every UTC hour in [startMs, endMs) in one query (keyed by the hour's start), for the
 * rebuild on start: one query per bucket took seconds for a month of hours.
 */
export async function hourlyBucketCounts(client: ClickHouseClient, startMs: number, endMs: number, maxFutureMs: number): Promise<Map<number, BucketCounts[]>> {
  const out = new Map<number, BucketCounts[]>();
  for (const r of await countRows(client, startMs, endMs, maxFutureMs, true)) {
    const h = Number(r.h);
    let list = out.get(h);
    if (!list) out.set(h, (list = []));
    list.push(toBucketCounts(r));
  }
  return out;
}

/**
 * A cluster's distinct cases per hour over the `days` before `beforeMs` (from its first hour with a case, if
 * later), as the trend stage counts them; null when it had none.
 */
export async function casesPerHourBefore(client: ClickHouseClient, clusterId: string, beforeMs: number, days: number, maxFutureMs: number): Promise<number | null> {
  const [r] = await select<{ cases: number; first: number; n: number }>(
    client,
    `SELECT toUInt64(sum(c)) AS cases, toInt64(min(h)) AS first, count() AS n FROM (
       SELECT toUnixTimestamp(toStartOfHour(occurred_at)) * 1000 AS h, uniqExact(case_id) AS c
       FROM assignments
       WHERE cluster_id = {id:String} AND occurred_at >= fromUnixTimestamp64Milli({from:Int64}) AND occurred_at < fromUnixTimestamp64Milli({before:Int64})
         AND ${ON_TIME}
       GROUP BY h)`,
    { id: clusterId, from: Math.floor(beforeMs - days * 86_400_000), before: Math.floor(beforeMs), future: Math.floor(maxFutureMs) },
  );
  if (!r || Number(r.n) === 0) return null;
  return Number(r.cases) / Math.max(1, (beforeMs - Number(r.first)) / 3_600_000);
}

/** Every case and customer id per cluster in [startMs, endMs): to resume a bucket that is still open. */
export async function bucketMembers(client: ClickHouseClient, startMs: number, endMs: number, maxFutureMs: number): Promise<{ clusterId: string; caseIds: string[]; customerIds: string[] }[]> {
  const rs = await client.query({
    query: `SELECT cluster_id, groupUniqArray(case_id) AS cases, groupUniqArray(${GATE_CUSTOMER}) AS customers
            FROM assignments
            WHERE occurred_at >= fromUnixTimestamp64Milli({start:Int64}) AND occurred_at < fromUnixTimestamp64Milli({end:Int64}) AND ${ON_TIME}
            GROUP BY cluster_id`,
    query_params: { start: startMs, end: endMs, future: Math.floor(maxFutureMs), anon: ANONYMOUS_CUSTOMER },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ cluster_id: string; cases: string[]; customers: string[] }>();
  return rows.map((r) => ({ clusterId: r.cluster_id, caseIds: r.cases, customerIds: r.customers }));
}

/**
 * Event times of the stored assignments; with `onTime`, of those the trend stage counts, dated at or before
 * `untilMs` (rows stored before assignments.ingested_at read their own event time as their arrival).
 */
export async function eventTimeRange(
  client: ClickHouseClient,
  /** `aheadMs`: `watermark` takes each event's time no further than its arrival plus this (the trend stage's event time). */
  onTime?: { untilMs: number; maxFutureMs: number; aheadMs?: number },
): Promise<{ min: number; max: number; watermark: number } | null> {
  const [r] = await select<{ min: number; max: number; watermark: number; n: number }>(
    client,
    `SELECT toInt64(toUnixTimestamp64Milli(min(occurred_at))) AS min, toInt64(toUnixTimestamp64Milli(max(occurred_at))) AS max,
            toInt64(toUnixTimestamp64Milli(max(least(occurred_at, addMilliseconds(ingested_at, {ahead:Int64}))))) AS watermark, count() AS n
       FROM assignments WHERE occurred_at <= fromUnixTimestamp64Milli({until:Int64}) AND occurred_at <= addMilliseconds(ingested_at, {future:Int64})`,
    {
      until: onTime ? Math.floor(onTime.untilMs) : 8_000_000_000_000,
      future: onTime ? Math.floor(onTime.maxFutureMs) : 8_000_000_000_000,
      ahead: onTime?.aheadMs !== undefined ? Math.floor(onTime.aheadMs) : 8_000_000_000_000,
    },
  );
  return r && Number(r.n) > 0 ? { min: Number(r.min), max: Number(r.max), watermark: Number(r.watermark) } : null;
}

/** Start of the first bucket the trend stage of `pipeline` has not evaluated and announced (null: never recorded). */
export async function loadTrendProgress(client: ClickHouseClient, pipeline: string): Promise<number | null> {
  const [r] = await select<{ at: number; n: number }>(
    client,
    `SELECT toInt64(toUnixTimestamp64Milli(argMax(closed_through, updated_at))) AS at, count() AS n FROM trend_progress WHERE pipeline = {pipeline:String}`,
    { pipeline },
  );
  return r && Number(r.n) > 0 ? Number(r.at) : null;
}

export async function saveTrendProgress(client: ClickHouseClient, pipeline: string, closedThroughMs: number, nowMs: number): Promise<void> {
  await client.insert({
    table: 'trend_progress',
    values: [{ pipeline, closed_through: chTime(closedThroughMs), updated_at: chTime(nowMs) }],
    format: 'JSONEachRow',
  });
}

export interface ClusterStatusRow {
  cluster_id: string;
  status: string;
  changed_at: number;
  /**
   * When the fix the status stands for was marked, in ms (`resolved` after `fix_available` keeps the latter's time):
   * its regression watch counts from then. null when the status is not a fixed one.
   */
  fixed_at: number | null;
}

/** cluster_status as stored: fixed_at NULL in rows written before it existed, and for statuses that are not fixed. */
type StoredStatusRow = Omit<ClusterStatusRow, 'fixed_at'> & { fixed_at: number | string | null };

/** The latest status of every cluster, or of one. */
async function readStatuses(client: ClickHouseClient, clusterId?: string): Promise<ClusterStatusRow[]> {
  const rows = await select<StoredStatusRow>(
    client,
    `SELECT cluster_id, toString(status) AS status, toInt64(toUnixTimestamp64Milli(changed_at)) AS changed_at,
            toUnixTimestamp64Milli(fixed_at) AS fixed_at
     FROM cluster_status FINAL${clusterId === undefined ? '' : ' WHERE cluster_id = {id:String}'}`,
    clusterId === undefined ? {} : { id: clusterId },
  );
  return rows.map(statusRow);
}

export async function clusterStatuses(client: ClickHouseClient): Promise<Map<string, ClusterStatusRow>> {
  return new Map((await readStatuses(client)).map((r) => [r.cluster_id, r]));
}

/** A stored status as readers take it: a fixed status written before fixed_at existed was fixed when it was set. */
function statusRow(r: StoredStatusRow): ClusterStatusRow {
  const changedAt = Number(r.changed_at);
  const fixedAt = isFixedStatus(r.status) ? (r.fixed_at === null ? changedAt : Number(r.fixed_at)) : null;
  return { cluster_id: r.cluster_id, status: r.status, changed_at: changedAt, fixed_at: fixedAt };
}

/**
 * Records a status change. `resolved` after `fix_available` is the same fix confirmed: it keeps when the fix was
 * marked available, and the regression watch runs on from then. Any other change to a fixed status (a fixed status
 * set again, or after an unfixed one) is a new fix, watched from now.
 */
export async function setClusterStatus(client: ClickHouseClient, clusterId: string, status: string, note: string, nowMs: number): Promise<void> {
  let fixedAt: number | null = null;
  if (status === 'resolved') {
    const [prev] = await readStatuses(client, clusterId);
    fixedAt = prev?.status === 'fix_available' && prev.fixed_at !== null ? prev.fixed_at : nowMs;
  } else if (isFixedStatus(status)) {
    fixedAt = nowMs;
  }
  await client.insert({
    table: 'cluster_status',
    values: [{ cluster_id: clusterId, status, note, changed_at: chTime(nowMs), fixed_at: fixedAt === null ? null : chTime(fixedAt) }],
    format: 'JSONEachRow',
  });
}

/** `windowEndMs`: the end of the episode's last bucket (nextBucketStart: a day bucket across a clock change is 23 or 25 hours). */
export function alertRow(e: Episode, windowEndMs: number) {
  return {
    episode_id: e.id,
    cluster_id: e.clusterId,
    kind: e.kind,
    status: e.status,
    window_start: chTime(e.startBucket),
    window_end: chTime(windowEndMs),
    observed: e.observed,
    expected: Math.round(e.expected * 1000) / 1000,
    score: Math.round(e.score * 1000) / 1000,
    peak_score: Math.round(e.peakScore * 1000) / 1000,
    peak_observed: e.peakObserved,
    customers: e.customers,
    buckets: e.buckets,
    opened_at: chTime(e.openedAt),
    updated_at: chTime(e.updatedAt),
    closed_at: e.closedAt === null ? null : chTime(e.closedAt),
  };
}

/** Episode versions keyed by (episode, bucket): re-evaluating a bucket after a restart writes nothing new. */
export async function writeAlerts(client: ClickHouseClient, rows: ReturnType<typeof alertRow>[], bucket: number): Promise<void> {
  if (rows.length === 0) return;
  const ids = createHash('sha256').update(rows.map((r) => `${r.episode_id}:${r.status}:${r.updated_at}`).join(',')).digest('hex').slice(0, 32);
  await insertIdempotent(client, 'trend_alerts', rows, `trend_alerts/${bucket}/${ids}`);
}

/** trend_alerts' columns (table alias `a`) as storedEpisode reads them: times in ms. */
export const EPISODE_COLUMNS = `a.episode_id AS episode_id, a.cluster_id AS cluster_id, toString(a.kind) AS kind, toString(a.status) AS status,
            toInt64(toUnixTimestamp(a.window_start)) * 1000 AS start, toInt64(toUnixTimestamp(a.window_end)) * 1000 AS end,
            a.observed AS observed, a.expected AS expected, a.score AS score, a.peak_score AS peak_score,
            a.peak_observed AS peak_observed, a.customers AS customers, a.buckets AS buckets,
            toInt64(toUnixTimestamp64Milli(a.opened_at)) AS opened, toInt64(toUnixTimestamp64Milli(a.updated_at)) AS updated,
            if(isNull(a.closed_at), NULL, toInt64(toUnixTimestamp64Milli(assumeNotNull(a.closed_at)))) AS closed`;

export interface StoredEpisodeRow {
  episode_id: string;
  cluster_id: string;
  kind: string;
  status: string;
  start: number;
  end: number;
  observed: number;
  expected: number;
  score: number;
  peak_score: number;
  peak_observed: number;
  customers: number;
  buckets: number;
  opened: number;
  updated: number;
  closed: number | null;
}

/** An episode version as stored, and the end (exclusive) of its last bucket. */
export function storedEpisode(r: StoredEpisodeRow): { episode: Episode; windowEndMs: number } {
  return {
    windowEndMs: Number(r.end),
    episode: {
      id: r.episode_id,
      clusterId: r.cluster_id,
      kind: r.kind as Episode['kind'],
      status: r.status === 'closed' ? 'closed' : 'open',
      startBucket: Number(r.start),
      // Not stored: only the window's end is (windowEndMs).
      lastBucket: Number(r.start),
      openedAt: Number(r.opened),
      updatedAt: Number(r.updated),
      closedAt: r.closed === null ? null : Number(r.closed),
      observed: Number(r.observed),
      expected: Number(r.expected),
      score: Number(r.score),
      peakScore: Number(r.peak_score),
      peakObserved: Number(r.peak_observed),
      peakBucket: Number(r.start),
      customers: Number(r.customers),
      buckets: Number(r.buckets),
      quietBuckets: 0,
    },
  };
}

/** Which of these episode ids trend_alerts holds a version of, whatever its status. */
export async function storedEpisodeIds(client: ClickHouseClient, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await select<{ episode_id: string }>(client, 'SELECT DISTINCT episode_id FROM trend_alerts WHERE episode_id IN {ids:Array(String)}', { ids });
  return new Set(rows.map((r) => r.episode_id));
}

/** The episodes whose latest stored version is open. */
export async function openEpisodes(client: ClickHouseClient): Promise<{ episode: Episode; windowEndMs: number }[]> {
  const rows = await select<StoredEpisodeRow>(client, `SELECT ${EPISODE_COLUMNS} FROM trend_alerts AS a FINAL WHERE a.status = 'open' ORDER BY episode_id`);
  return rows.map(storedEpisode);
}

export interface EpisodeRow {
  episode_id: string;
  cluster_id: string;
  label: string;
  kind: string;
  status: string;
  window_start: string;
  window_end: string;
  observed: number;
  expected: number;
  peak_score: number;
  customers: number;
}

/**
 * Episodes whose window reaches past `sinceMs`: open first; among them a regression first (a fix that did not
 * hold: its score is a ratio to the volume before the fix, ~1 when the problem is fully back, which sorted it below
 * every spike), then by peak score, `new` ones (scored by their case count) after the other kinds.
 */
export async function listEpisodes(client: ClickHouseClient, sinceMs: number, limit?: number): Promise<EpisodeRow[]> {
  return select<EpisodeRow>(
    client,
    `SELECT e.episode_id AS episode_id, e.cluster_id AS cluster_id, if(v.label = '' AND v.merged_into != '', concat('(merged into ', v.merged_into, ')'), v.label) AS label, toString(e.kind) AS kind,
                   toString(e.status) AS status, toString(e.window_start) AS window_start, toString(e.window_end) AS window_end,
                   e.observed AS observed, e.expected AS expected, e.peak_score AS peak_score, e.customers AS customers
            FROM v_trend_episodes AS e LEFT JOIN v_clusters AS v ON v.cluster_id = e.cluster_id
            WHERE e.window_end >= fromUnixTimestamp64Milli({since:Int64})
            ORDER BY e.status = 'open' DESC, e.kind = 'regression' DESC, e.kind = 'new' ASC, e.peak_score DESC, e.episode_id
            ${limit === undefined ? '' : 'LIMIT {limit:UInt32}'}`,
    { since: sinceMs, ...(limit === undefined ? {} : { limit }) },
  );
}

/** How many episodes there are in all, and when the newest one's window ended ('' when none). */
export async function episodeExtent(client: ClickHouseClient): Promise<{ episodes: number; newest_end: string }> {
  const [row] = await select<{ episodes: number; newest_end: string }>(
    client,
    "SELECT toUInt64(count()) AS episodes, if(count() = 0, '', toString(max(window_end))) AS newest_end FROM v_trend_episodes",
  );
  return row ?? { episodes: 0, newest_end: '' };
}
