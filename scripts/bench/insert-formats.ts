// Cost of writing the pipeline's own case_events rows into embedded chDB, per row, as compact JSON rows
// versus TabSeparated through insertIdempotent (what the pipeline sends). Encoding in JS and parsing in
// ClickHouse both count.
//   npx tsx scripts/bench/insert-formats.ts [--n 40000] [--chunk 5000]
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeEvent } from '../../src/events/index.js';
import { caseEventRow } from '../../src/pipeline/rows.js';
import { openStore, migrate } from '../../src/store/index.js';
import { chTime, insertIdempotent } from '../../src/store/writer.js';
import { maskPii } from '../../src/text/mask.js';
import { makeEventFactory } from './events.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '40000' }, chunk: { type: 'string', default: '5000' } } });
const N = Number(values.n);
const CHUNK = Number(values.chunk);
const make = makeEventFactory();
const mask = (t: string) => maskPii(t);
const rows = Array.from({ length: N }, (_, i) => {
  const r = decodeEvent(Buffer.from(JSON.stringify(make(i, N))), 1 << 20);
  if (!r.ok) throw new Error(r.reason);
  return caseEventRow(r.event, r.extra, { topic: 'bench', partition: 0, offset: BigInt(i) }, mask, chTime(Date.now())).row;
});
const dir = join(tmpdir(), `recur-insert-formats-${process.pid}`);
const store = await openStore({ dataDir: dir } as never);
await migrate(store.client, { dedupWindow: 100 });
const columns = Object.keys(rows[0]!) as [string, ...string[]];
const formats = {
  JSONCompactEachRow: (part: object[], token: string) =>
    store.client.insert({
      table: 'case_events', columns, format: 'JSONCompactEachRow', clickhouse_settings: { insert_deduplication_token: token },
      values: part.map((r) => columns.map((c) => (r as Record<string, unknown>)[c])),
    }),
  TabSeparated: (part: object[], token: string) => insertIdempotent(store.client, 'case_events', part, token),
};
const times: Record<string, number[]> = { JSONCompactEachRow: [], TabSeparated: [] };
for (let round = 0; round < 3; round++) {
  for (const [name, insert] of Object.entries(formats)) {
    const t0 = performance.now();
    for (let i = 0; i < N; i += CHUNK) await insert(rows.slice(i, i + CHUNK), `${name}/${round}/${i}`);
    times[name]!.push(((performance.now() - t0) / N) * 1000);
  }
}
await store.close();
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, t] of Object.entries(times)) {
  process.stdout.write(`${name.padEnd(20)} ${median(t).toFixed(1)} µs per case_events row (median of ${t.length} rounds of ${N} rows in chunks of ${CHUNK})\n`);
}
