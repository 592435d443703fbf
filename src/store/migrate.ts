import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../schemas/clickhouse');

export interface MigrationResult {
  applied: string[];
  current: string[];
}

/**
 * Versioned migrations: `NNN_name.sql` files applied in order, each once, recorded in
 * `schema_migrations`. Statements are split on `;` at line ends. `{dedup_window}` is the only
 * substitution and takes a number from validated config.
 */
export async function migrate(client: ClickHouseClient, opts: { dedupWindow: number; setDedupWindow?: boolean }): Promise<MigrationResult> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (version String, applied_at DateTime64(3, 'UTC'))
            ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await client.query({ query: 'SELECT version FROM schema_migrations', format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: string }>()).map((r) => r.version));
  const files = migrationFiles();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.replace(/\.sql$/, '');
    if (done.has(version)) continue;
    const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8').replaceAll('{dedup_window}', String(Math.trunc(opts.dedupWindow)));
    for (const statement of splitStatements(sql)) await client.command({ query: statement });
    await client.insert({
      table: 'schema_migrations',
      values: [{ version, applied_at: Date.now() }],
      format: 'JSONEachRow',
    });
    applied.push(version);
  }
  if (opts.setDedupWindow) await applyDedupWindow(client, Math.trunc(opts.dedupWindow));
  return { applied, current: files.map((f) => f.replace(/\.sql$/, '')) };
}

/** The migrations' files (`NNN_name.sql`), in the order they apply. */
function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
}

/** The tables the migrations create with a deduplication window (`{dedup_window}`), by name. */
export function windowedTables(): string[] {
  const names = new Set<string>();
  for (const file of migrationFiles()) {
    for (const statement of splitStatements(readFileSync(join(MIGRATIONS_DIR, file), 'utf8'))) {
      const table = /CREATE TABLE IF NOT EXISTS (\w+)/.exec(statement)?.[1];
      if (table && statement.includes('{dedup_window}')) names.add(table);
    }
  }
  return [...names].sort();
}

/**
 * `clickhouse.dedupWindow` as configured now, on recur's tables that deduplicate (the migrations write it only when
 * they create a table, so raising it later, to outlast a longer replay, changed nothing). Called by the writers'
 * start (`recur run`, `recur migrate`) only: a read command with another config would set its own.
 */
async function applyDedupWindow(client: ClickHouseClient, window: number): Promise<void> {
  const rs = await client.query({
    query: `SELECT name, extract(engine_full, 'non_replicated_deduplication_window = (\\d+)') AS window
            FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}`,
    query_params: { tables: windowedTables() },
    format: 'JSONEachRow',
  });
  for (const t of await rs.json<{ name: string; window: string }>()) {
    if (t.window === '' || Number(t.window) === window) continue;
    // The name is one of recur's tables (from its migrations), the window a validated integer.
    await client.command({ query: `ALTER TABLE \`${t.name}\` MODIFY SETTING non_replicated_deduplication_window = ${window}` });
  }
}

export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
