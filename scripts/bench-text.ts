// Throughput of the text path on one core: normalise + mask → tokenise → vectorise → online assignment.
//   npx tsx scripts/bench-text.ts [--n 1000000] [--json] [--input data/banking77/train.csv] [--no-bigrams]
//   npx tsx scripts/bench-text.ts --embedder bge-small [--n 20000]   (the live path by meaning: embedding
//     throughput, cache hit rate, then placement; needs `npm run model:fetch`)
// Descriptions are Banking77 training texts, varied so the stream keeps producing new strings: words
// swapped in from other texts, PII-like tails (e-mail, order id, card number) and rare made-up words.
// Event times span 90 days; clusterer defaults (cap 2,000 clusters, 100k names, retire after 30 days).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OnlineClusterer } from '../src/cluster/online.js';
import { Mulberry32 } from '../src/cluster/prng.js';
import { parseCsvRecords } from '../src/eval/csv.js';
import { maskPii } from '../src/text/mask.js';
import { normalizeText } from '../src/text/normalize.js';
import { Tokenizer } from '../src/text/tokenize.js';
import { sparseBuffer } from '../src/text/vectorize.js';
import { SemanticOnlineClusterer } from '../src/cluster/semantic-online.js';
import { semanticModel } from '../src/pipeline/assigner.js';
import { createEmbedder, MODELS, type ModelKind } from '../src/text/embed/index.js';
import { evalData } from './eval-data.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    json: { type: 'boolean', default: false },
    input: { type: 'string', default: '' },
    seed: { type: 'string', default: '7' },
    bigrams: { type: 'boolean', default: true },
    'no-bigrams': { type: 'boolean', default: false },
    embedder: { type: 'string', default: 'none' },
  },
});
const total = Number(values.n);
if (values['no-bigrams']) values.bigrams = false;
const base = parseCsvRecords(readFileSync(values.input || evalData('banking77/train.csv'), 'utf8')).records.map((r) => r.text ?? '');
const words = base.flatMap((t) => t.split(' '));
const rng = new Mulberry32(Number(values.seed));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)]!;
const TAILS = [
  () => ` my email is user${Math.floor(rng.next() * 1e6)}@example.com`,
  () => ` order number ${Math.floor(10_000_000 + rng.next() * 89_999_999)}`,
  () => ' card 4111 1111 1111 1111',
  () => ` call me on +44 20 7946 ${String(Math.floor(rng.next() * 10_000)).padStart(4, '0')}`,
];

function nextText(): string {
  let t = pick(base);
  const r = rng.next();
  if (r < 0.3) {
    const parts = t.split(' ');
    parts[Math.floor(rng.next() * parts.length)] = pick(words);
    t = parts.join(' ');
  }
  if (rng.next() < 0.1) t += pick(TAILS)();
  if (rng.next() < 0.05) t += ` zq${Math.floor(rng.next() * 36 ** 4).toString(36)}`;
  return t;
}

/**
 * The live path by meaning, through the pipeline's own adapter (src/pipeline/assigner.ts semanticModel): per
 * batch of 1,000, mask and tokenise, embed the distinct texts through the LRU cache, place each by its vector.
 * Wall time (the encoder runs on its own threads) and CPU time of all threads are both reported.
 */
async function benchSemantic(kind: ModelKind, n: number): Promise<void> {
  if (!(kind in MODELS)) throw new RangeError(`--embedder takes ${Object.keys(MODELS).join(', ')}, got ${kind}`);
  const made = await createEmbedder({ kind });
  if (!made.embedder) throw new Error(`embedder ${kind} unavailable: ${made.reason}`);
  const embedder = made.embedder;
  const tok = new Tokenizer({ bigrams: true });
  const sem = new SemanticOnlineClusterer(embedder.dimensions);
  const model = semanticModel(sem, embedder);
  const st = { text: 0, embed: 0, assign: 0 };
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  for (let done = 0; done < n; done += CHUNK) {
    const m = Math.min(CHUNK, n - done);
    let t = performance.now();
    const batch = Array.from({ length: m }, () => maskPii(normalizeText(nextText())).text);
    const toks = batch.map((x) => tok.tokenize(x));
    st.text += performance.now() - t;
    t = performance.now();
    await model.prepare!(batch, async () => {});
    st.embed += performance.now() - t;
    t = performance.now();
    batch.forEach((x, i) => model.assign({ eventId: String(done + i), tokens: toks[i]!, time: done + i, text: x }));
    st.assign += performance.now() - t;
  }
  const wall = performance.now() - wall0;
  const cpu = cpuMs() - cpu0;
  const cache = embedder.stats;
  const result = {
    embedder: kind,
    events: n,
    events_per_second: Math.round(n / (wall / 1000)),
    events_per_cpu_second: Math.round(n / (cpu / 1000)),
    embedded_per_second: Math.round(cache.misses / (st.embed / 1000)),
    cache_hit_rate: Math.round((cache.hits / Math.max(1, cache.hits + cache.misses)) * 1000) / 1000,
    share: Object.fromEntries(Object.entries(st).map(([k, v]) => [k, Math.round((v / wall) * 1000) / 1000])),
    live_clusters: sem.liveClusters,
    rss_mb: mb(process.memoryUsage().rss),
  };
  await (embedder as { close?(): Promise<void> }).close?.();
  if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    process.stdout.write(`${n} events by meaning (${kind}): ${result.events_per_second}/s wall, ${result.events_per_cpu_second}/CPU-s; `);
    process.stdout.write(`embedding ${result.embedded_per_second} texts/s, cache hit rate ${result.cache_hit_rate}; shares ${JSON.stringify(result.share)}; `);
    process.stdout.write(`${result.live_clusters} clusters, RSS ${result.rss_mb} MB\n`);
  }
}

const tokenizer = new Tokenizer({ bigrams: values.bigrams });
const clusterer = new OnlineClusterer();
const stage = { mask: 0, tokenize: 0, vectorize: 0, assign: 0 };
const CHUNK = 1000;
// CPU time of this process (all threads, so GC helpers count): robust to other load on a shared machine.
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const wallStart = performance.now();
// Event time spans 90 days whatever n is, so stale small clusters retire as they would in production.
const timeStep = (90 * 86_400_000) / total;
const texts: string[] = new Array<string>(CHUNK);
const masked: string[] = new Array<string>(CHUNK);
const tokens: string[][] = new Array<string[]>(CHUNK);
const hashes: number[][] = Array.from({ length: CHUNK }, () => []);
// One reused vector buffer per chunk position, as the clusterer's own assign() reuses one.
const vecs = Array.from({ length: CHUNK }, () => sparseBuffer());
const rss: { at: string; events: number; rss_mb: number; heap_used_mb: number; clusters: number; vocabulary: number }[] = [];
const marks = new Set([Math.floor(total * 0.1), Math.floor(total * 0.5), total]);
let done = 0;
let created = 0;
let lineage = 0;
const mb = (b: number): number => Math.round((b / 1048576) * 10) / 10;
if (values.embedder !== 'none') {
  await benchSemantic(values.embedder as ModelKind, values.n === '1000000' ? 20_000 : total);
  process.exit(0);
}

while (done < total) {
  const m = Math.min(CHUNK, total - done);
  for (let i = 0; i < m; i++) texts[i] = nextText();
  let t0 = cpuMs();
  for (let i = 0; i < m; i++) masked[i] = maskPii(normalizeText(texts[i]!)).text;
  let t1 = cpuMs();
  stage.mask += t1 - t0;
  t0 = t1;
  for (let i = 0; i < m; i++) tokens[i] = tokenizer.tokenize(masked[i]!, hashes[i]!);
  t1 = cpuMs();
  stage.tokenize += t1 - t0;
  t0 = t1;
  for (let i = 0; i < m; i++) clusterer.vectorizer.updateAndTransformInto(tokens[i]!, hashes[i]!, vecs[i]!);
  t1 = cpuMs();
  stage.vectorize += t1 - t0;
  t0 = t1;
  for (let i = 0; i < m; i++) {
    const a = clusterer.placeBuffer(vecs[i]!, { eventId: String(done + i), tokens: tokens[i]!, time: (done + i) * timeStep, text: masked[i]! });
    if (a.change === 'cluster_created') created++;
    lineage += a.lineage.length;
  }
  stage.assign += cpuMs() - t0;
  done += m;
  for (const mark of marks) {
    if (mark > done - m && mark <= done) {
      const mem = process.memoryUsage();
      rss.push({
        at: `${Math.round((mark / total) * 100)}%`, events: done, rss_mb: mb(mem.rss), heap_used_mb: mb(mem.heapUsed),
        clusters: clusterer.liveClusters, vocabulary: clusterer.vectorizer.vocabularySize,
      });
    }
  }
}
const busy = stage.mask + stage.tokenize + stage.vectorize + stage.assign;
const wall = performance.now() - wallStart;
const result = {
  events: total,
  events_per_cpu_second: Math.round(total / (busy / 1000)),
  cpu_seconds: Math.round(busy) / 1000,
  wall_seconds_including_generation: Math.round(wall) / 1000,
  share: Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, Math.round((v / busy) * 1000) / 1000])),
  clusters_created: created,
  lineage_events: lineage,
  live_clusters: clusterer.liveClusters,
  rss,
};
if (values.json) process.stdout.write(JSON.stringify(result) + '\n');
else {
  process.stdout.write(`${result.events} events in ${result.cpu_seconds} CPU s: ${result.events_per_cpu_second}/s (wall incl. text generation ${result.wall_seconds_including_generation}s)\n`);
  for (const [k, v] of Object.entries(result.share)) process.stdout.write(`  ${k.padEnd(10)} ${(v * 100).toFixed(1)}%\n`);
  process.stdout.write(`  clusters created ${created}, live ${result.live_clusters}, lineage events ${lineage}\n`);
  for (const r of rss) {
    process.stdout.write(`  RSS at ${r.at.padStart(4)}: ${r.rss_mb} MB, heap used ${r.heap_used_mb} MB (clusters ${r.clusters}, vocabulary ${r.vocabulary})\n`);
  }
}
