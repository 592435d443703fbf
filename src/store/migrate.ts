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
export async function migrate(client: ClickHouseClient, opts: { dedupWindow: number }): Promise<MigrationResult> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations (version String, applied_at DateTime64(3, 'UTC'))
            ENGINE = MergeTree ORDER BY version`,
  });
  const rs = await client.query({ query: 'SELECT version FROM schema_migrations', format: 'JSONEachRow' });
  const done = new Set((await rs.json<{ version: string }>()).map((r) => r.version));
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
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
  return { applied, current: files.map((f) => f.replace(/\.sql$/, '')) };
}

export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
