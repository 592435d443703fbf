import { randomBytes, timingSafeEqual } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import {
  affectedCustomers,
  chargeBack,
  ownerTotals,
  clusterDetail,
  clusterStatuses,
  episodeExtent,
  eventTimeRange,
  ingestSummary,
  listEpisodes,
  MAX_LIST_LIMIT,
  markClusterStatus,
  noteProblem,
  ownerPinRows,
  pinClusterOwner,
  statusProblem,
  teamProblem,
  topClusters,
} from '../store/index.js';
import type { OwnersConfig } from '../owners/index.js';
import { PipelineError } from '../errors.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { hostAllowed } from './host.js';

export interface Health {
  /** Progress, not just liveness: healthy only while batches keep being stored (or there is nothing to do). */
  healthy(): { ok: boolean; detail: Record<string, unknown> };
}

export interface ServeOptions {
  client: ClickHouseClient;
  log: Logger;
  host: string;
  port: number;
  /** Host names (besides loopback names, IP addresses and `host`) requests may name: serve.allowedHosts. */
  allowedHosts?: readonly string[];
  metrics?: () => string;
  health?: Health;
  /** Routing rules, so a cluster's detail names its owner. */
  owners?: OwnersConfig;
  /** trends.repeatWindowDays: "back within N days" in a cluster's detail. */
  repeatWindowDays?: number;
  /** Extra status sections (sinks, model) for /api/status and `recur status`. */
  status?: () => Record<string, unknown>;
  /**
   * A running pipeline's live model: the label, terms and examples of clusters the store does not describe yet
   * (it does from the model's next checkpoint on), so answers and owner routing do not go without them.
   */
  describe?: (ids: readonly string[]) => ReadonlyMap<string, { label: string; topTerms: string[]; examples: string[] }>;
  /** Told after a status is set through the API (a running pipeline's trend stage reads statuses again). */
  statusesChanged?: () => void;
  /** The embedded store's data directory: /api/store and SERVING_FILE, so a CLI command on the same store reads through this process. */
  store?: string;
}

const ID = /^[A-Za-z0-9_:.-]{1,128}$/;

/** A path segment as a cluster id (clients encode ids: c_v2_3 is plain, a:b arrives as a%3Ab); null when no cluster can have it. */
function clusterIdOf(segment: string): string | null {
  try {
    const id = decodeURIComponent(segment);
    return ID.test(id) ? id : null;
  } catch {
    return null;
  }
}

/**
 * Dashboard page, JSON API, /metrics (Prometheus text) and /healthz. Queries go through store/ only;
 * in embedded mode this is how other processes reach the data the running pipeline holds.
 */
export async function startServer(o: ServeOptions): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  // Serving an embedded store, this process is the only one that can write to it: `recur status set` and
  // `recur owner set` write through it, with this token from TOKEN_FILE (readable by its owner only), so
  // neither another user nor a web page the browser shows (it cannot read the file, nor send the header
  // without a CORS preflight this server never grants) can change what owners decided.
  const token = o.store ? randomBytes(24).toString('base64url') : null;
  const server = createServer((req, res) => {
    handle(o, token, req, res).catch((err: unknown) => {
      o.log.warn({ err: (err as Error).message, path: req.url }, 'api request failed');
      send(res, 500, { error: 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      reject(new PipelineError('config_invalid', 'cli', `cannot serve on ${o.host}:${o.port}: ${why} (serve.port or RECUR_SERVE_PORT, and recur serve's --port; 0 picks a free one)`, { cause: err }));
    });
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const url = `http://${o.host}:${port}`;
  // Beside the embedded store it holds: where the read commands on the same store find this process, and the
  // token the changes need (a file of its own, 0600: the address stays readable to whoever may read the store).
  const announced = o.store ? join(o.store, SERVING_FILE) : null;
  const tokenFile = o.store ? join(o.store, TOKEN_FILE) : null;
  if (tokenFile && token) replaceFile(tokenFile, `${token}\n`, 0o600);
  if (announced) replaceFile(announced, `${JSON.stringify({ host: o.host, port, pid: process.pid })}\n`, 0o644);
  o.log.info({ url }, 'serving dashboard, API and metrics');
  return {
    server,
    url,
    close: () =>
      new Promise((resolve) => {
        if (announced) rmSync(announced, { force: true });
        if (tokenFile) rmSync(tokenFile, { force: true });
        server.close(() => resolve());
        // Idle keep-alive sockets go now; a request still arriving or being answered gets a grace period, then its
        // socket is closed too: one client that sent half its headers kept the process from exiting for good.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
      }),
  };
}

/** How long close() lets requests in progress finish before it closes their sockets. */
const CLOSE_GRACE_MS = 2_000;

/** In an embedded store's directory while a process serves it: `{host, port, pid}`. */
export const SERVING_FILE = 'serving.json';
/** Beside it, mode 0600: the bearer token of the API's writes (POST /api/status/<id>, /api/owner/<id>). */
export const TOKEN_FILE = 'serving.token';

/**
 * Written whole under another name, then renamed over `path`: a reader sees the old file or the new one, never
 * none or half of one, and the new one has `mode` even where a file a killed process left had another.
 */
function replaceFile(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  renameSync(tmp, path);
}

/** Without a pipeline to report on (`recur serve`): healthy while the store answers, within 2 s. */
async function storeHealth(client: ClickHouseClient): Promise<{ ok: boolean; detail: Record<string, unknown> }> {
  try {
    const rs = await client.query({ query: 'SELECT 1 AS ok', format: 'JSONEachRow', abort_signal: AbortSignal.timeout(2000) });
    await rs.json();
    return { ok: true, detail: { store: 'answering' } };
  } catch (err) {
    // The reason only: a client's error can quote the server's address.
    return { ok: false, detail: { store: 'not answering', reason: err instanceof Error && err.name === 'AbortError' ? 'timeout' : 'error' } };
  }
}

function send(res: ServerResponse, code: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  res.writeHead(code, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(text);
}

async function handle(o: ServeOptions, token: string | null, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req.headers.host, o.host, o.allowedHosts)) return send(res, 421, { error: 'unknown host: this server answers loopback names, IP addresses and the names in serve.allowedHosts' });
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'POST' && parts[0] === 'api' && (parts[1] === 'status' || parts[1] === 'owner') && parts.length === 3) return write(o, token, req, res, parts[1], parts[2]!);
  // HEAD as GET (Node sends no body): uptime checks and load balancers probe /healthz with it.
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  switch (parts[0]) {
    case undefined:
      return send(res, 200, DASHBOARD_HTML, 'text/html');
    case 'metrics':
      return send(res, 200, o.metrics?.() ?? '', 'text/plain; version=0.0.4');
    case 'healthz': {
      const h = o.health?.healthy() ?? (await storeHealth(o.client));
      return send(res, h.ok ? 200 : 503, h);
    }
    case 'api':
      break;
    default:
      return send(res, 404, { error: 'not found' });
  }
  // The list parameters are the API's: a probe's query string on /healthz is not checked against them.
  const sinceDays = Number(url.searchParams.get('since_days') ?? '0');
  if (!Number.isFinite(sinceDays) || sinceDays < 0 || sinceDays > 36_500) return send(res, 400, { error: 'since_days takes a number of days from 0 to 36500' });
  const sinceMs = sinceDays > 0 ? Date.now() - sinceDays * 86_400_000 : 0;
  const limit = Number(url.searchParams.get('limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) return send(res, 400, { error: `limit takes a whole number from 1 to ${MAX_LIST_LIMIT}` });
  // Clusters are listed 50 at a time unless asked; episodes, customers to notify and the charge-back in full.
  const asked = url.searchParams.has('limit') ? limit : undefined;
  const id = parts[2] === undefined ? undefined : clusterIdOf(parts[2]);
  if (id === null) return send(res, 400, { error: 'bad cluster id' });
  switch (parts[1]) {
    case 'summary':
      return send(res, 200, await ingestSummary(o.client));
    case 'clusters':
      return send(res, 200, described(o, await topClusters(o.client, { sinceMs, limit, ...(o.owners ? { cost: o.owners.cost } : {}) })));
    case 'cluster': {
      const d = id ? await clusterDetail(o.client, id, o.repeatWindowDays, o.owners, (rows) => described(o, rows)) : null;
      return d ? send(res, 200, described(o, [d as typeof d & { cluster_id: string; label: string }])[0]) : send(res, 404, { error: 'no such cluster' });
    }
    case 'affected': {
      if (!id) return send(res, 400, { error: 'cluster id required' });
      // No such cluster is a 404, as /api/cluster/<id> says it; a cluster nobody contacted about in the window, [].
      const rows = await affectedCustomers(o.client, id, sinceMs, asked);
      return rows ? send(res, 200, rows) : send(res, 404, { error: 'no such cluster' });
    }
    case 'trends':
      return send(res, 200, described(o, await listEpisodes(o.client, sinceMs, asked)));
    case 'status':
      return send(res, 200, o.status?.() ?? {});
    case 'store':
      return send(res, 200, { location: o.store ?? null });
    case 'extent': {
      // Where the stored data ends in event time: what the read commands say when a window is empty.
      const [range, episodes] = await Promise.all([eventTimeRange(o.client), episodeExtent(o.client)]);
      return send(res, 200, { newest_event: range?.max ?? null, ...episodes });
    }
    case 'statuses':
      return send(res, 200, [...(await clusterStatuses(o.client)).values()]);
    case 'owners':
      return send(res, 200, await ownerPinRows(o.client));
    case 'cost': {
      if (!o.owners) return send(res, 404, { error: 'no cost model configured' });
      const rows = await chargeBack(o.client, o.owners, sinceMs, url.searchParams.get('all') === '1', (r) => described(o, r));
      // by=owner: per owner team, each case once however many of its clusters it is in.
      return send(res, 200, (url.searchParams.get('by') === 'owner' ? await ownerTotals(o.client, rows, sinceMs) : rows).slice(0, asked));
    }
    default:
      return send(res, 404, { error: 'not found' });
  }
}

/** Room for the longest note (MAX_NOTE_CHARS of 4-byte UTF-8, JSON-escaped control characters at most 6 bytes each). */
const MAX_WRITE_BODY = 16 * 1024;

/**
 * The whole body, or null when it is longer than `limit` (said by Content-Length, or found while reading). Either
 * way it is read to its end, kept only up to the limit, so the client gets the answer, not a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers['content-length'] ?? 0) > limit ? Infinity : 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : null));
    req.on('error', reject);
  });
}

/**
 * POST /api/status/<id> {"status", "note"} and POST /api/owner/<id> {"team": name | null}: what `recur status set`
 * and `recur owner set|unset` do, for the process holding an embedded store. Bearer token from SERVING_FILE.
 */
async function write(o: ServeOptions, token: string | null, req: IncomingMessage, res: ServerResponse, what: 'status' | 'owner', rawId: string): Promise<void> {
  if (token === null) return send(res, 405, { error: 'this process does not hold an embedded store: write to the store itself' });
  const given = Buffer.from(/^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  if (given.length !== want.length || !timingSafeEqual(given, want)) return send(res, 401, { error: `writes need the token in the store directory's ${TOKEN_FILE}` });
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) return send(res, 415, { error: 'send application/json' });
  const id = clusterIdOf(rawId);
  // An id no cluster can have: no such cluster, as the store would say.
  if (id === null) return send(res, 404, { error: 'no such cluster' });
  const raw = await readBody(req, MAX_WRITE_BODY);
  if (raw === null) return send(res, 413, { error: `a body of at most ${MAX_WRITE_BODY} bytes` });
  let body: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed as Record<string, unknown>;
  } catch {
    return send(res, 400, { error: 'the body must be a JSON object' });
  }
  if (what === 'status') {
    const status = typeof body['status'] === 'string' ? body['status'] : '';
    const note = body['note'] ?? '';
    if (typeof note !== 'string') return send(res, 400, { error: 'note must be text' });
    const problem = statusProblem(status) ?? noteProblem(note);
    if (problem) return send(res, 400, { error: problem });
    const state = await markClusterStatus(o.client, id, status, note, Date.now());
    if (!state) return send(res, 404, { error: 'no such cluster' });
    o.statusesChanged?.();
    o.log.info({ cluster_id: id, status }, 'cluster status set through the API');
    return send(res, 200, { cluster_id: id, status, ...state });
  }
  const team = body['team'];
  if (team !== null && typeof team !== 'string') return send(res, 400, { error: 'team must be a team name, or null to unpin' });
  const problem = team === null ? null : teamProblem(team);
  if (problem) return send(res, 400, { error: problem });
  if (!(await pinClusterOwner(o.client, id, team ?? '', Date.now()))) return send(res, 404, { error: 'no such cluster' });
  o.log.info({ cluster_id: id, owner: team }, 'cluster owner pinned through the API');
  return send(res, 200, { cluster_id: id, owner: team });
}

/** Rows whose cluster the store does not describe yet, described by the live model (when there is one). */
function described<T extends { cluster_id: string; label: string }>(o: ServeOptions, rows: T[]): T[] {
  const missing = o.describe ? rows.filter((r) => r.label === '').map((r) => r.cluster_id) : [];
  if (missing.length === 0) return rows;
  const live = o.describe!(missing);
  return rows.map((r) => {
    const d = r.label === '' ? live.get(r.cluster_id) : undefined;
    if (!d) return r;
    return { ...r, label: d.label, ...('top_terms' in r ? { top_terms: d.topTerms } : {}), ...('examples' in r ? { examples: d.examples } : {}) };
  });
}
