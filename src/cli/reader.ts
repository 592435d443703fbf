import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVING_FILE, TOKEN_FILE } from '../serve/index.js';
import type { Config } from '../config/index.js';
import { PipelineError } from '../errors.js';
import {
  affectedCustomers,
  chargeBack,
  ownerTotals,
  clusterDetail,
  clusterExists,
  clusterStatuses,
  episodeExtent,
  eventTimeRange,
  listEpisodes,
  markClusterStatus,
  ownerPinRows,
  pinClusterOwner,
  topClusters,
  type AffectedRow,
  type ClusterCostRow,
  type OwnerTotal,
  type ClusterStatusRow,
  type ClusterSummary,
  type EpisodeRow,
} from '../store/index.js';
import { withStore } from './args.js';

/** What the read commands (clusters, show, trends, affected, cost, status) ask of the store. */
export interface Reader {
  topClusters(sinceMs: number, limit: number): Promise<ClusterSummary[]>;
  clusterDetail(id: string): Promise<Record<string, unknown> | null>;
  listEpisodes(sinceMs: number): Promise<EpisodeRow[]>;
  affected(id: string, sinceMs: number): Promise<AffectedRow[] | null>;
  /** Statuses set by hand (`recur status set`), and whether a cluster has stored events at all. */
  statuses(): Promise<ClusterStatusRow[]>;
  clusterExists(id: string): Promise<boolean>;
  /** Owners pinned by hand (`recur owner set`). */
  ownerPins(): Promise<{ cluster_id: string; owner: string }[]>;
  /** Charge-back per cluster with its owner (`recur cost`). */
  chargeBack(sinceMs: number, includeResolved: boolean): Promise<(ClusterCostRow & { owner: string })[]>;
  /** The same per owner, each case counted once however many of the owner's clusters it is in. */
  ownerTotals(sinceMs: number, includeResolved: boolean): Promise<OwnerTotal[]>;
  /** Hints for an empty answer: the newest event, and how many episodes there are and when the newest ended. */
  newestEvent(): Promise<number | null>;
  episodeExtent(): Promise<{ episodes: number; newest_end: string } | null>;
}

/**
 * Runs a read command against the store, or — when a running `recur run --serve` or `recur serve` holds the
 * same embedded store (chDB locks its directory to one process; it says which in /api/store) — against that
 * process's JSON API, which answers with the same queries. Otherwise the store is opened, and a lock held by
 * a process that does not serve is the usual error (it says what to do).
 */
export async function withReader<T>(
  config: Config,
  fn: (read: Reader) => Promise<T>,
  /** servingApi(config), when the caller has asked already. */
  served?: string | null,
): Promise<T> {
  if (!config.clickhouse.url) {
    const api = served === undefined ? await servingApi(config) : served;
    if (api) return fn(apiReader(api));
    storeMustExist(config);
  }
  return withStore(config, (store) => {
    const { client } = store;
    return fn({
      topClusters: (sinceMs, limit) => topClusters(client, { sinceMs, limit, cost: config.owners.cost }),
      clusterDetail: (id) => clusterDetail(client, id, config.trends.repeatWindowDays, config.owners),
      listEpisodes: (sinceMs) => listEpisodes(client, sinceMs),
      affected: (id, sinceMs) => affectedCustomers(client, id, sinceMs),
      statuses: async () => [...(await clusterStatuses(client)).values()],
      clusterExists: (id) => clusterExists(client, id),
      ownerPins: () => ownerPinRows(client),
      chargeBack: (sinceMs, all) => chargeBack(client, config.owners, sinceMs, all),
      ownerTotals: async (sinceMs, all) => ownerTotals(client, await chargeBack(client, config.owners, sinceMs, all), sinceMs),
      newestEvent: async () => (await eventTimeRange(client))?.max ?? null,
      episodeExtent: () => episodeExtent(client),
    });
  });
}

/** What `recur status set` and `recur owner set|unset` change. */
export interface Writer {
  /** null: no such cluster; else its state (merged, retired), for what to tell the user. */
  setStatus(id: string, status: string, note: string): Promise<{ state?: string; merged_into?: string } | null>;
  /** team '' unpins; false: no such cluster. */
  pinOwner(id: string, team: string): Promise<boolean>;
}

/**
 * Runs a change against the store, or through the process serving the same embedded store (it holds chDB's lock,
 * so nothing else can write to it), with the write token it keeps beside the store. As withReader otherwise.
 */
export async function withWriter<T>(config: Config, fn: (write: Writer) => Promise<T>): Promise<T> {
  if (!config.clickhouse.url) {
    const serving = await findServing(config);
    if (serving) {
      if (serving.token === null)
        throw new PipelineError('store_locked', 'store', `the recur process serving ${serving.api} holds this store, and changes go through it with the token in ${join(resolve(config.clickhouse.dataDir), TOKEN_FILE)}, which cannot be read here (run this as the user running it)`);
      return fn(apiWriter(serving.api, serving.token));
    }
    storeMustExist(config);
  }
  return withStore(config, (store) =>
    fn({
      setStatus: (id, status, note) => markClusterStatus(store.client, id, status, note, Date.now()),
      pinOwner: (id, team) => pinClusterOwner(store.client, id, team, Date.now()),
    }),
  );
}

/**
 * The API of the process serving this embedded store, if one does: the one it announced in the store's
 * directory (SERVING_FILE; `recur serve --port` included), else the one on serve.host:serve.port; either only
 * when it says it holds this store (/api/store).
 */
export async function servingApi(config: Config, waitMs = ANNOUNCED_MS): Promise<string | null> {
  return (await findServing(config, waitMs))?.api ?? null;
}

/** The process that announced itself beside the store, alive, gave no answer within the time it was given. */
export class ServingSilent extends PipelineError {
  constructor(
    readonly pid: number,
    readonly api: string,
    readonly waitMs: number,
    cause: unknown,
  ) {
    super('store_unavailable', 'store', `the recur process serving this store (pid ${pid}, ${api}) did not answer within ${waitMs / 1000} s`, { cause });
  }
}

/** How long a process that may not be recur's (on serve.host:serve.port) gets to say which store it holds. */
const PROBE_MS = 1_500;
/** How long the process that announced itself beside the store, and is alive, gets: as long as a read does. */
const ANNOUNCED_MS = 60_000;

/** servingApi, with the write token the process keeps beside the store (null: unreadable here, or none). */
async function findServing(config: Config, announcedMs = ANNOUNCED_MS): Promise<{ api: string; token: string | null } | null> {
  const dir = resolve(config.clickhouse.dataDir);
  const candidates: { api: string; pid: number | null }[] = [];
  try {
    const a = JSON.parse(readFileSync(join(dir, SERVING_FILE), 'utf8')) as { host?: unknown; port?: unknown; pid?: unknown };
    if (typeof a.host === 'string' && typeof a.port === 'number') candidates.push({ api: apiBase(a.host, a.port), pid: typeof a.pid === 'number' && alive(a.pid) ? a.pid : null });
  } catch {
    // none announced (or unreadable): the configured address
  }
  const configured = apiBase(config.serve.host, config.serve.port);
  if (!candidates.some((c) => c.api === configured)) candidates.push({ api: configured, pid: null });
  for (const { api, pid } of candidates) {
    // The process that announced itself here and is alive holds the store: a busy one (a backfill on two cores, a
    // long GC) is waited for. Given 1.5 s, the command opened the store itself and failed on its lock, telling the
    // user to stop a process that was working.
    const waitMs = pid === null ? PROBE_MS : announcedMs;
    const served = await fetch(`${api}/store`, { signal: AbortSignal.timeout(waitMs) })
      .then((r) => (r.ok ? (r.json() as Promise<{ location?: unknown }>) : null))
      .catch((err: unknown) => {
        if (pid !== null && err instanceof Error && err.name === 'TimeoutError') throw new ServingSilent(pid, api, waitMs, err);
        return null;
      });
    if (typeof served?.location !== 'string' || !samePath(served.location, dir)) continue;
    let token: string | null = null;
    try {
      token = readFileSync(join(dir, TOKEN_FILE), 'utf8').trim() || null;
    } catch {
      // another user's process, or an older recur's: reads only
    }
    return { api, token };
  }
  return null;
}

/** Whether a process with this id exists (another user's included). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fetch, its failure (refused, timed out) said as the process it tried to reach, not as a TypeError. */
async function call(api: string, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${api}/${path}`, { signal: AbortSignal.timeout(60_000), ...init });
  } catch (err) {
    const why = err instanceof Error && err.name === 'TimeoutError' ? 'no answer within 60 s' : ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    throw new PipelineError('store_unavailable', 'store', `cannot reach the recur process serving ${api}: ${why}`, { cause: err });
  }
}

/** An answer's JSON, or an error saying what the serving process answered. */
async function answered<T>(api: string, res: Response): Promise<T> {
  if (!res.ok) throw new PipelineError('store_unavailable', 'store', `the recur process serving ${api} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * A read of an embedded store that is not there fails: opening it would make an empty one, and a mistyped
 * --data-dir would read as "nothing stored" with exit 0.
 */
export function storeMustExist(config: Config): void {
  const dir = resolve(config.clickhouse.dataDir);
  // chDB makes metadata/ in every store it opens: a directory without it holds no store.
  if (!existsSync(join(dir, 'metadata'))) throw new PipelineError('config_invalid', 'cli', `no store at ${dir}: nothing has been stored there (recur run or recur demo makes one; --data-dir, clickhouse.dataDir)`);
}

/** Whether two paths name the same directory (through symlinks). */
function samePath(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return real(a) === real(b);
}

/** A listen address as a client reaches it: a wildcard on loopback, an IPv6 address in brackets. */
export function apiBase(host: string, port: number): string {
  const h = ['0.0.0.0', '::', '[::]', ''].includes(host) ? '127.0.0.1' : host;
  return `http://${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}/api`;
}

function apiReader(api: string): Reader {
  /** GET, JSON; null for 404 (no such cluster). */
  const get = async <T>(path: string, params: Record<string, number | string> = {}): Promise<T | null> => {
    const q = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]));
    const res = await call(api, `${path}${q.size ? `?${q}` : ''}`);
    // No such cluster; or an id the API refuses (no cluster has such an id).
    if (res.status === 404 || (res.status === 400 && /^(cluster|affected)\//.test(path))) return null;
    return answered<T>(api, res);
  };
  const days = (sinceMs: number) => (sinceMs > 0 ? Math.max(1e-6, (Date.now() - sinceMs) / 86_400_000) : 0);
  return {
    topClusters: async (sinceMs, limit) => (await get<ClusterSummary[]>('clusters', { since_days: days(sinceMs), limit })) ?? [],
    clusterDetail: (id) => get<Record<string, unknown>>(`cluster/${encodeURIComponent(id)}`),
    listEpisodes: async (sinceMs) => (await get<EpisodeRow[]>('trends', { since_days: days(sinceMs) })) ?? [],
    affected: (id, sinceMs) => get<AffectedRow[]>(`affected/${encodeURIComponent(id)}`, { since_days: days(sinceMs) }),
    statuses: async () => (await get<ClusterStatusRow[]>('statuses')) ?? [],
    clusterExists: async (id) => (await get(`cluster/${encodeURIComponent(id)}`)) !== null,
    ownerPins: async () => (await get<{ cluster_id: string; owner: string }[]>('owners')) ?? [],
    chargeBack: async (sinceMs, all) => (await get<(ClusterCostRow & { owner: string })[]>('cost', { since_days: days(sinceMs), ...(all ? { all: 1 } : {}) })) ?? [],
    ownerTotals: async (sinceMs, all) => (await get<OwnerTotal[]>('cost', { since_days: days(sinceMs), by: 'owner', ...(all ? { all: 1 } : {}) })) ?? [],
    newestEvent: async () => (await get<{ newest_event: number | null }>('extent'))?.newest_event ?? null,
    episodeExtent: async () => {
      const e = await get<{ episodes: number; newest_end: string }>('extent');
      return e ? { episodes: e.episodes, newest_end: e.newest_end } : null;
    },
  };
}

function apiWriter(api: string, token: string): Writer {
  /** POST JSON with the token; null for 404 (no such cluster). */
  const post = async <T>(path: string, body: unknown): Promise<T | null> => {
    const res = await call(api, path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    if (res.status === 404) return null;
    if (res.status === 400) {
      const { error } = (await res.json().catch(() => ({ error: '' }))) as { error?: string };
      throw new PipelineError('config_invalid', 'cli', `the recur process serving ${api} refused: ${error}`);
    }
    return answered<T>(api, res);
  };
  return {
    setStatus: async (id, status, note) => {
      const r = await post<{ state?: string; merged_into?: string }>(`status/${encodeURIComponent(id)}`, { status, note });
      return r ? { ...(r.state !== undefined ? { state: r.state } : {}), ...(r.merged_into !== undefined ? { merged_into: r.merged_into } : {}) } : null;
    },
    pinOwner: async (id, team) => (await post(`owner/${encodeURIComponent(id)}`, { team: team === '' ? null : team })) !== null,
  };
}
