import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { readSecret, type Config } from '../config/index.js';
import { PipelineError } from '../errors.js';
import { registerRawInsert, type RawInsert } from './writer.js';

/**
 * chDB applies each call's settings as session-wide SETs, so a setting one call needs (a dedup token,
 * join_use_nulls, mutations_sync) would leak into the next. Every call therefore sends these defaults,
 * which per-call settings override.
 */
const SESSION_DEFAULTS = {
  date_time_input_format: 'best_effort',
  insert_deduplication_token: '',
  insert_deduplicate: 1,
  join_use_nulls: 0,
  mutations_sync: '0',
  output_format_json_quote_64bit_integers: 1,
} as const;

/**
 * The client's own console logger is off: it printed a multi-line ERROR block (settings, stack) on stderr
 * before recur's one-line error for the same failure. Every failure still reaches the caller as an error,
 * which recur classifies (classifyOpenError, classifyStoreError) and logs once through pino.
 */
const CLIENT_LOG = { level: ClickHouseLogLevel.OFF };

export interface Store {
  client: ClickHouseClient;
  kind: 'chdb' | 'server';
  /** Where: the data directory or the server URL without credentials. */
  location: string;
  close(): Promise<void>;
}

/**
 * Who connects to a ClickHouse server: credentials written in the URL (http://user:pw@host, as ClickHouse's own
 * clients take them) are used, not dropped with it; a password configured apart (clickhouse.password or
 * passwordFile) wins over the URL's, and without either the configured username connects with none.
 */
export function serverCredentials(url: URL, username: string, password: string | undefined): { username: string; password: string } {
  return {
    username: url.username ? decodeURIComponent(url.username) : username,
    password: password ?? (url.password ? decodeURIComponent(url.password) : ''),
  };
}

/**
 * One code path for both: `@clickhouse/client` over HTTP(S) when a URL is configured, else over chDB's
 * in-process connection bound to a data directory. chDB locks that directory: a second process gets a
 * clear `store_locked` error, not a crash.
 */
export async function openStore(cfg: Config['clickhouse']): Promise<Store> {
  if (cfg.url) {
    const url = new URL(cfg.url);
    const location = `${url.protocol}//${url.host}`;
    const { username, password } = serverCredentials(url, cfg.username, readSecret(cfg.password, cfg.passwordFile));
    if (cfg.database !== 'default') {
      // The configured database may not exist yet (first start, per-test databases): create it.
      const admin = createClient({ url: location, username, password, request_timeout: 30_000, log: CLIENT_LOG });
      try {
        await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${cfg.database}` }); // identifier validated by the config schema
      } catch (err) {
        throw classifyOpenError(err, location);
      } finally {
        await admin.close();
      }
    }
    const client = createClient({
      url: location,
      username,
      password,
      database: cfg.database,
      request_timeout: 60_000,
      clickhouse_settings: SESSION_DEFAULTS,
      log: CLIENT_LOG,
    });
    await ping(client, location);
    return { client, kind: 'server', location, close: () => client.close() };
  }
  const dir = resolve(cfg.dataDir);
  mkdirSync(dir, { recursive: true });
  let connection;
  try {
    // jemalloc reads its options while the library loads, i.e. during this import; the variable is then put
    // back, so processes recur starts do not take recur's value for an operator's.
    const operatorConf = process.env.JE_MALLOC_CONF;
    if (cfg.memoryReturnMs !== undefined) process.env.JE_MALLOC_CONF = chdbAllocatorConf(cfg.memoryReturnMs, operatorConf);
    let imported;
    try {
      imported = await import('chdb/connection');
    } finally {
      if (operatorConf === undefined) delete process.env.JE_MALLOC_CONF;
      else process.env.JE_MALLOC_CONF = operatorConf;
    }
    const { createChdbConnection } = imported;
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    throw classifyOpenError(err, dir);
  }
  // chdb ships its own copy of client-common's types; the runtime contract is the same.
  const client = createClient({ connection: connection as never, clickhouse_settings: SESSION_DEFAULTS, log: CLIENT_LOG });
  const chdb = (connection as { chdb?: { rawInsert?: RawInsert } }).chdb;
  if (typeof chdb?.rawInsert === 'function') registerRawInsert(client, (p) => chdb.rawInsert!(p));
  await ping(client, dir);
  return { client, kind: 'chdb', location: dir, close: () => client.close() };
}

/**
 * chDB's jemalloc reads its options from JE_MALLOC_CONF once, when the library is loaded (the first
 * openStore of a process): recur's decay first, then the operator's own (openStore puts the variable
 * back afterwards, so this always sees theirs), since jemalloc applies the pairs in order and the last
 * one of a name wins.
 */
export function chdbAllocatorConf(memoryReturnMs: number, operatorConf: string | undefined): string {
  const ours = `dirty_decay_ms:${memoryReturnMs}`;
  return operatorConf ? `${ours},${operatorConf}` : ours;
}

async function ping(client: ClickHouseClient, location: string): Promise<void> {
  try {
    await client.command({ query: 'SELECT 1' });
  } catch (err) {
    throw classifyOpenError(err, location);
  }
}

function classifyOpenError(err: unknown, location: string): PipelineError {
  const msg = err instanceof Error ? err.message : String(err);
  // chDB prints "Cannot lock file …/status" on stderr and throws a generic "Failed to create connection".
  if (/Cannot lock file/i.test(msg) || (/Failed to create connection/i.test(msg) && existsSync(join(location, 'status')))) {
    return new PipelineError(
      'store_locked',
      'store',
      `the embedded store ${location} is in use by another recur process; stop it, or point --clickhouse-url at a server (held by a recur run --serve or recur serve that answers, the read, status and owner commands go through it)`,
      { cause: err },
    );
  }
  return new PipelineError('store_unavailable', 'store', `cannot open ClickHouse at ${location}: ${msg}`, {
    retriable: true,
    cause: err,
  });
}
