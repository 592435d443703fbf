import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';

/**
 * Rows of a read query, parameters always bound (never spliced into SQL), 64-bit integers as JSON
 * numbers. `settings` adds per-query settings (e.g. join_use_nulls).
 */
export async function select<T>(
  client: ClickHouseClient,
  query: string,
  params: Record<string, unknown> = {},
  settings: ClickHouseSettings = {},
): Promise<T[]> {
  const rs = await client.query({
    query,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...settings },
  });
  return rs.json<T>();
}
