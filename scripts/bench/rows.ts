// The row path of the ingestor, stage by stage, on one core:
//   npx tsx scripts/bench/rows.ts [--n 20000] [--rounds 31] [--base ../other-worktree]
// decode (bytes → checked event), row (caseEventRow: normalise, mask, the case_events row) and tsv (the
// TabSeparated bytes of those rows and of an assignments row per event: one chunk of `ingest.maxBatchRows`),
// on the pipeline bench's events. Prints per stage the median over the rounds of the main thread's CPU time
// (not wall time: the machine may be shared) per event. With --base, the same stages of another checkout
// run in the same process on the same input, in alternating order, and their TSV bytes must be identical:
// an A/B that a shared machine's load shifts far less than two processes run one after the other.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { makeEventFactory } from './events.js';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '31' }, base: { type: 'string' } },
});
const n = Number(values.n);
const rounds = Number(values.rounds);
const make = makeEventFactory();
const messages = Array.from({ length: n }, (_, i) => Buffer.from(JSON.stringify(make(i, n))));

/** The stages as a checkout implements them. */
async function stagesOf(root: string) {
  const src = (p: string) => new URL(`file://${resolve(root, 'src', p)}`).href;
  const { decodeEvent } = (await import(src('events/decode.ts'))) as typeof import('../../src/events/decode.js');
  const { caseEventRow } = (await import(src('pipeline/rows.ts'))) as typeof import('../../src/pipeline/rows.js');
  const { tabSeparated } = (await import(src('store/writer.ts'))) as typeof import('../../src/store/writer.js');
  const { compileMaskRules, maskPii } = (await import(src('text/mask.ts'))) as typeof import('../../src/text/mask.js');
  const { normalizeText } = (await import(src('text/normalize.ts'))) as typeof import('../../src/text/normalize.js');
  const rules = compileMaskRules();
  const mask = (t: string) => maskPii(normalizeText(t), rules);
  return {
    decode: () =>
      messages.map((m) => {
        const res = decodeEvent(m, 1 << 20);
        if (!res.ok) throw new Error(res.reason);
        return res;
      }),
    row: (decoded: { event: Parameters<typeof caseEventRow>[0]; extra: Record<string, unknown> }[]) =>
      decoded.map((d, i) => caseEventRow(d.event, d.extra, { topic: 'bench-1796605537526', partition: 1, offset: BigInt(i) }, mask, '1970-01-01T00:00:00.000Z').row),
    tsv: (chunks: object[][]) => chunks.map((rows) => tabSeparated(rows, Object.keys(rows[0]!))),
  };
}

/** What the ingestor writes for a chunk: its case_events rows, and an assignments row per event. */
function withAssignments(rows: Record<string, unknown>[]): object[][] {
  const assignments = rows.map((r, i) => {
    const { event_id, case_id, customer_id, channel, occurred_at, cost, handle_seconds, csat, nps, effort, product, category, source_topic, source_partition, source_offset, ingested_at } = r;
    const [cluster_id, similarity, model_version] = [`c-${i % 191}`, Math.round((0.3 + (i % 97) / 137) * 1e4) / 1e4, 3];
    return { event_id, case_id, customer_id, channel, occurred_at, cluster_id, similarity, model_version, cost, handle_seconds, csat, nps, effort, product, category, source_topic, source_partition, source_offset, ingested_at };
  });
  return [rows, assignments];
}

// The main thread's time on a CPU, in ns (Linux).
const cpuNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
// A full collection before each stage: a stage pays for the garbage it makes, not for an earlier stage's.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const times: Record<string, number[]> = {};
function timed<T>(key: string, f: () => T): T {
  gc();
  const t0 = cpuNs();
  const out = f();
  (times[key] ??= []).push((cpuNs() - t0) / 1000 / n);
  return out;
}

const checkouts = values.base ? { base: await stagesOf(values.base), this: await stagesOf(new URL('../../', import.meta.url).pathname) } : { this: await stagesOf(new URL('../../', import.meta.url).pathname) };
const names = Object.keys(checkouts) as (keyof typeof checkouts)[];
let bytes = 0;
for (let r = 0; r < rounds; r++) {
  const outputs: Buffer[][] = [];
  for (const name of r % 2 ? [...names].reverse() : names) {
    const s = checkouts[name]!;
    const decoded = timed(`decode ${name}`, s.decode);
    const rows = timed(`row ${name}`, () => s.row(decoded));
    outputs.push(timed(`tsv ${name}`, () => s.tsv(withAssignments(rows))));
  }
  if (outputs.length === 2 && !outputs[0]!.every((b, i) => b.equals(outputs[1]![i]!))) throw new Error(`round ${r}: the TSV bytes differ`);
  bytes = outputs[0]!.reduce((sum, b) => sum + b.length, 0);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`µs CPU per event, median of ${rounds} rounds of ${n} events (${(bytes / n).toFixed(0)} TSV bytes per event${names.length > 1 ? ', identical' : ''}):`);
for (const stage of ['decode', 'row', 'tsv']) {
  const [a, b] = names.map((name) => median(times[`${stage} ${name}`]!));
  console.log(`  ${stage.padEnd(6)} ${names.length > 1 ? `base ${a!.toFixed(3)}  this ${b!.toFixed(3)}  (${((100 * (b! - a!)) / a!).toFixed(1)}%)` : a!.toFixed(3)}`);
}
