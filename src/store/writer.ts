import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { PipelineError, errorMessage } from '../errors.js';
import { identityOfTopic, type FileIdentity } from '../sources/file.js';
import { select } from './select.js';

export interface OffsetRange {
  topic: string;
  partition: number;
  first: bigint;
  last: bigint;
}

/** ClickHouse time literal accepted by best-effort parsing, always UTC. */
export function chTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * chTime of an ISO-8601 timestamp: the text itself when it is already that canonical form (UTC, milliseconds)
 * with a day every month has (Date.parse rolls 2026-02-30 over to March 2), else parsed and printed.
 */
export function chTimeOf(iso: string): string {
  return CANONICAL.test(iso) ? iso : chTime(Date.parse(iso));
}
// Days 01–28 only: 29–31 take the parse, which rolls them over in shorter months.
const CANONICAL = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** chDB's raw insert (`connection.chdb.rawInsert`): `INSERT INTO t (cols) SETTINGS … FORMAT f` + the bytes. */
export type RawInsert = (p: {
  table: string;
  columns: readonly string[];
  values: Buffer;
  format: 'TabSeparated';
  settings: Record<string, string | number>;
}) => Promise<unknown>;

const RAW_INSERTS = new WeakMap<ClickHouseClient, RawInsert>();

/** openStore registers embedded chDB's raw insert for its client; insertIdempotent then writes through it. */
export function registerRawInsert(client: ClickHouseClient, raw: RawInsert): void {
  RAW_INSERTS.set(client, raw);
}

/**
 * Inserts rows under an explicit deduplication token: the same token within the table's
 * `non_replicated_deduplication_window` is dropped by ClickHouse, whatever the rows hold, so a replayed
 * batch is stored once (a replay also checks what landed: see storedOffsets).
 */
export async function insertIdempotent(
  client: ClickHouseClient,
  table: string,
  rows: readonly object[],
  token: string | null,
): Promise<void> {
  if (rows.length === 0) return;
  // The token is always set, to '' when there is none: chDB applies clickhouse_settings as session-wide
  // SETs, so a token left by an earlier insert would otherwise deduplicate this one (and ClickHouse
  // honours a token even with insert_deduplicate = 0), silently dropping its rows.
  const dedup = token === null ? { insert_deduplicate: 0 as const, insert_deduplication_token: '' } : { insert_deduplicate: 1 as const, insert_deduplication_token: token };
  // TabSeparated with an explicit column list: ClickHouse parses it about twice as fast as compact JSON
  // rows (which were already ~4× faster than JSONEachRow objects) — `npx tsx scripts/bench/insert-formats.ts`.
  // Every row of a batch is built by the same literal, so the first row's keys are the columns.
  const columns = Object.keys(rows[0]!);
  const settings = {
    ...dedup,
    deduplicate_blocks_in_dependent_materialized_views: 1 as const,
    // One block per insert: a token covers exactly the rows it was given. Parallel parsing cuts a large
    // payload into several blocks (three parts of one 40,000-row insert, each under a token of its own).
    input_format_parallel_parsing: 0 as const,
    max_insert_block_size: '1000000000',
    min_insert_block_size_rows: '0',
    min_insert_block_size_bytes: '0',
    // Tables are partitioned by month: a backfill batch can span more than the default 100 months, and
    // ClickHouse's refusal of such a block is retried forever (a stalled partition).
    max_partitions_per_insert_block: '0',
  };
  try {
    const raw = RAW_INSERTS.get(client);
    if (raw) {
      // Embedded chDB: the payload bytes handed over without a copy, and the settings in the INSERT's own
      // SETTINGS clause (query-scoped). Through the general path chDB's connection joins the payload, the
      // statement and its SETs into one string and converts it back to UTF-8 on the JS thread: a tenth
      // of the worker's time at backfill speed (measured with --cpu-prof).
      await raw({
        table,
        columns,
        values: tabSeparated(rows, columns),
        format: 'TabSeparated',
        // Timestamps are ISO-8601 text: best-effort parsing here too, not only as the session's default.
        settings: { ...settings, date_time_input_format: 'best_effort' },
      });
      return;
    }
    await client.insert({
      table,
      values: Readable.from([tabSeparated(rows, columns)], { objectMode: false }),
      columns: columns as [string, ...string[]],
      format: 'TabSeparated',
      clickhouse_settings: settings,
    });
  } catch (err) {
    throw classifyStoreError(err, table);
  }
}

/**
 * Rows as ClickHouse TabSeparated text in UTF-8, one line per row in `columns` order. Strings escape
 * backslash, tab, line feed, carriage return and NUL (the only bytes TSV parsing treats specially); null
 * is \N; arrays are literals of single-quoted, backslash-escaped elements; numbers and bigints print as
 * they are. Each line is encoded as it is built: one string of a whole batch (a rope of ~100,000 pieces,
 * two-byte as soon as one row has a non-Latin-1 character) cost twice as much to flatten and encode.
 */
export function tabSeparated(rows: readonly object[], columns: readonly string[]): Buffer {
  let buf = Buffer.allocUnsafe(Math.max(4096, rows.length * 256));
  let at = 0;
  for (const r of rows) {
    const row = r as Record<string, unknown>;
    // The row's own keys in order, each checked against its column: V8 reads a value in a for-in over the
    // object's own keys straight from its slot, where row[columns[c]] looks each name up (23 per event).
    let line = '';
    let c = 0;
    for (const k in row) {
      if (k !== columns[c]) break;
      if (c > 0) line += '\t';
      line += tsvField(row[k]);
      c++;
    }
    // Keys in another order, missing or extra: the columns not yet written, by name (a missing one is \N).
    for (; c < columns.length; c++) {
      if (c > 0) line += '\t';
      line += tsvField(row[columns[c]!]);
    }
    line += '\n';
    // A UTF-16 code unit is at most 3 UTF-8 bytes (a surrogate pair: 4 bytes for 2 units); only when that
    // bound does not fit is the exact size counted (a model checkpoint is one line of tens of MB).
    if (at + 3 * line.length > buf.length) {
      const need = at + Buffer.byteLength(line, 'utf8');
      if (need > buf.length) {
        const grown = Buffer.allocUnsafe(Math.max(Math.min(2 * buf.length, need + 4 * 1024 * 1024), need));
        buf.copy(grown, 0, 0, at);
        buf = grown;
      }
    }
    at += buf.write(line, at, 'utf8');
  }
  return buf.subarray(0, at);
}

function tsvField(v: unknown): string {
  if (typeof v === 'string') return TSV_SPECIAL.test(v) ? v.replace(TSV_SPECIAL_ALL, escapeChar) : v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'string' ? `'${x.replace(QUOTED_SPECIAL, escapeChar)}'` : x === null ? 'NULL' : tsvField(x))).join(',')}]`;
  throw new TypeError(`cannot write a ${typeof v} as a TabSeparated field`);
}

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_ALL = /[\\\t\n\r\0]/g;
const QUOTED_SPECIAL = /[\\\t\n\r\0']/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', "'": "\\'" };
const escapeChar = (c: string): string => ESCAPES[c]!;

/**
 * Retry only what a retry can fix (Vector's rule: decide by the server's error). Memory limits (241) are
 * retried: chDB's insert and merge spikes pass, and a stopped pipeline would not come back by itself.
 */
export function classifyStoreError(err: unknown, what: string): PipelineError {
  const msg = errorMessage(err);
  const permanent = /Code: (27|36|38|41|44|47|53|60|62|70|72|117|130|131)\b|Cannot parse|TYPE_MISMATCH|UNKNOWN_TABLE|SYNTAX_ERROR/.test(msg);
  return new PipelineError(permanent ? 'store_rejected' : 'store_unavailable', 'store', `ClickHouse write to ${what} failed: ${msg}`, {
    retriable: !permanent,
    cause: err,
  });
}

export function rangeToken(r: OffsetRange, table: string, modelVersion: number): string {
  return `${r.topic}/${r.partition}/${r.first}-${r.last}/${table}/v${modelVersion}`;
}

/** The intent ledger: the last offset range written per partition (see schemas/clickhouse/001_ingest.sql). */
export async function lastIntent(client: ClickHouseClient, topic: string, partition: number): Promise<OffsetRange | null> {
  const [row] = await select<{ first: string; last: string }>(
    client,
    `SELECT toString(first_offset) AS first, toString(last_offset) AS last FROM ingest_ledger
     WHERE source_topic = {topic:String} AND source_partition = {partition:Int32}
     ORDER BY last_offset DESC LIMIT 1`,
    { topic, partition },
  );
  return row ? { topic, partition, first: BigInt(row.first), last: BigInt(row.last) } : null;
}

/**
 * The file inputs this store has taken: what each run of one read (file_inputs), and the file topics of the
 * ingest ledger from before that table, as their names describe them.
 */
export async function knownFileInputs(client: ClickHouseClient): Promise<FileIdentity[]> {
  const [recorded, ledger] = await Promise.all([
    select<{ topic: string; bytes: string; sha: string }>(client, 'SELECT DISTINCT source_topic AS topic, toString(bytes) AS bytes, sha FROM file_inputs', {}),
    select<{ topic: string }>(client, "SELECT DISTINCT source_topic AS topic FROM ingest_ledger WHERE startsWith(source_topic, 'file:')", {}),
  ]);
  const out: FileIdentity[] = recorded.map((r) => ({ topic: r.topic, bytes: Number(r.bytes), sha: r.sha }));
  const have = new Set(out.map((r) => r.topic));
  for (const { topic } of ledger) {
    const named = have.has(topic) ? null : identityOfTopic(topic);
    if (named) out.push(named);
  }
  return out;
}

/** Records what a run of a file input reads, before it reads it. */
export async function recordFileInput(client: ClickHouseClient, f: FileIdentity, nowMs: number): Promise<void> {
  await insertIdempotent(client, 'file_inputs', [{ source_topic: f.topic, bytes: f.bytes, sha: f.sha, recorded_at: chTime(nowMs) }], null);
}

export async function recordIntent(client: ClickHouseClient, r: OffsetRange, modelVersion: number, nowMs: number): Promise<void> {
  await insertIdempotent(
    client,
    'ingest_ledger',
    [
      {
        source_topic: r.topic,
        source_partition: r.partition,
        first_offset: r.first.toString(),
        last_offset: r.last.toString(),
        model_version: modelVersion,
        written_at: chTime(nowMs),
      },
    ],
    rangeToken(r, 'ingest_ledger', modelVersion),
  );
}

/**
 * The assignments already stored for an offset range. A replay reuses them so its rows are identical to
 * what landed before the crash: the model may place an event differently the second time (other
 * partitions' events interleave differently).
 */
export interface StoredPlacement {
  clusterId: string;
  similarity: number;
  /** assignments.ingested_at, in ms. */
  arrivedMs: number;
}

export async function storedAssignments(client: ClickHouseClient, r: OffsetRange): Promise<Map<bigint, StoredPlacement>> {
  const rows = await select<{ o: string; cluster_id: string; similarity: number; arrived: number }>(
    client,
    `SELECT toString(source_offset) AS o, cluster_id, similarity, toInt64(toUnixTimestamp64Milli(ingested_at)) AS arrived FROM assignments WHERE ${IN_RANGE}`,
    rangeParams(r),
  );
  return new Map(rows.map((x) => [BigInt(x.o), { clusterId: x.cluster_id, similarity: Number(x.similarity), arrivedMs: Number(x.arrived) }]));
}

/**
 * Offsets of a range already stored in a table. A replay re-sends only what is missing, and checks again
 * after: ClickHouse records an insert's deduplication token before it commits the part (non-replicated
 * MergeTree), so a kill -9 between the two leaves a token whose rows never landed.
 */
export async function storedOffsets(client: ClickHouseClient, table: 'case_events' | 'dead_letters' | 'assignments', r: OffsetRange): Promise<Set<bigint>> {
  const rows = await select<{ o: string }>(
    client,
    `SELECT DISTINCT toString(source_offset) AS o FROM {table:Identifier} WHERE ${IN_RANGE}`,
    { table, ...rangeParams(r) },
  );
  return new Set(rows.map((x) => BigInt(x.o)));
}

/** Rows of one topic-partition's offset range (parameters from rangeParams). */
const IN_RANGE = `source_topic = {topic:String} AND source_partition = {partition:Int32}
  AND source_offset >= {first:Int64} AND source_offset <= {last:Int64}`;

function rangeParams(r: OffsetRange): Record<string, unknown> {
  return { topic: r.topic, partition: r.partition, first: r.first.toString(), last: r.last.toString() };
}
