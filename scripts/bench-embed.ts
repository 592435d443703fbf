// Embedding throughput on this machine. Usage:
//   npx tsx scripts/bench-embed.ts [--model bge-small|minilm] [--model-dir DIR] [--input F] [--n 1024]
//     [--stream 20000] [--batch-sizes 1,8,32,64] [--cache-size 5000]
// Prints one JSON object: WordPiece-only speed; sentences/s for intra-op threads 1, 2 and 2 spinning × batch sizes;
// the LRU cache hit rate and effective speed on a repeat-heavy stream; peak RSS.
// The stream draws texts Zipf(s = 1) from the input's distinct texts, and varies case/spacing on a
// quarter of them — support traffic repeats a few phrasings a lot ("card declined") and has a long tail.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../src/cluster/prng.js';
import { parseCsvRecords } from '../src/eval/csv.js';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createEmbedder, defaultModelDir, MODELS, WordPieceTokenizer, type ModelKind } from '../src/text/embed/index.js';
import { evalData } from './eval-data.js';

const { values: a } = parseArgs({
  options: {
    input: { type: 'string', default: '' },
    model: { type: 'string', default: 'bge-small' },
    'model-dir': { type: 'string' },
    n: { type: 'string', default: '1024' },
    stream: { type: 'string', default: '20000' },
    'batch-sizes': { type: 'string', default: '1,8,32,64' },
    'cache-size': { type: 'string', default: '5000' },
  },
});
const kind = a.model as ModelKind;
if (!(kind in MODELS)) throw new RangeError(`--model must be one of ${Object.keys(MODELS).join(', ')}, got ${kind}`);
const dir = a['model-dir'] ?? defaultModelDir(kind);
const all = [...new Set(parseCsvRecords(readFileSync(a.input || evalData('banking77/train.csv'), 'utf8')).records.map((r) => r.text ?? ''))];
const rand = mulberry32(7);
const sample = Array.from({ length: Number(a.n) }, () => all[Math.floor(rand() * all.length)]!);
const out: Record<string, unknown> = { model_dir: dir, distinct_texts: all.length, sample: sample.length };

// Tokenizer alone.
const tok = WordPieceTokenizer.fromJson(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), 128);
let t0 = performance.now();
let tokens = 0;
for (const t of all) tokens += tok.encode(t).ids.length;
out.wordpiece = { texts_per_s: Math.round(all.length / ((performance.now() - t0) / 1000)), mean_tokens: +(tokens / all.length).toFixed(1) };

// Other work on the box skews these numbers, so the 1-minute load average is printed with them.
out.load_average_1m = loadavg()[0];
const runs: Record<string, unknown>[] = [];
const configs: [number, boolean][] = [[1, false], [2, false], [2, true]];
for (const [threads, spin] of configs) {
  for (const batchSize of a['batch-sizes']!.split(',').map(Number)) {
    const made = await createEmbedder({ kind, modelDir: dir, cacheSize: 0, threads, spin, batchSize });
    if (made.embedder === null) throw new Error(made.reason);
    await made.embedder.embed(sample.slice(0, 16)); // warm-up
    const n = batchSize === 1 ? Math.min(256, sample.length) : sample.length;
    t0 = performance.now();
    await made.embedder.embed(sample.slice(0, n));
    const s = (performance.now() - t0) / 1000;
    runs.push({ threads, spin, batch_size: batchSize, sentences_per_s: Math.round(n / s), ms_per_sentence: +((s * 1000) / n).toFixed(2) });
    process.stderr.write(JSON.stringify(runs.at(-1)) + '\n');
    await made.embedder.close();
  }
}
out.throughput = runs;

// Repeat-heavy stream through the cache, in micro-batches of 32 as a live consumer would send them.
const zipf = zipfSampler(all.length, 1, mulberry32(11));
const stream = Array.from({ length: Number(a.stream) }, () => {
  const t = all[zipf()]!;
  const r = rand();
  return r < 0.125 ? t.toLowerCase() : r < 0.25 ? ` ${t.replace(/ /g, '  ')} ` : t;
});
const made = await createEmbedder({ kind, modelDir: dir, cacheSize: Number(a['cache-size']), batchSize: 32 });
if (made.embedder === null) throw new Error(made.reason);
t0 = performance.now();
for (let i = 0; i < stream.length; i += 32) await made.embedder.embed(stream.slice(i, i + 32));
const s = (performance.now() - t0) / 1000;
const st = made.embedder.stats;
out.cached_stream = {
  events: stream.length,
  distinct: new Set(stream).size,
  cache_capacity: st.capacity,
  hit_rate: +(st.hits / (st.hits + st.misses)).toFixed(3),
  events_per_s: Math.round(stream.length / s),
};
await made.embedder.close();

// Backfill fast path: the whole stream in one embed() call — duplicates collapse before inference and the
// distinct texts are length-sorted globally, so batches carry almost no padding.
const fresh = await createEmbedder({ kind, modelDir: dir, cacheSize: Number(a['cache-size']), batchSize: 32 });
if (fresh.embedder === null) throw new Error(fresh.reason);
t0 = performance.now();
await fresh.embedder.embed(stream);
out.backfill_one_call = { events: stream.length, events_per_s: Math.round(stream.length / ((performance.now() - t0) / 1000)) };
await fresh.embedder.close();
out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(JSON.stringify(out) + '\n');

/** Index sampler with P(i) ∝ 1 / (i + 1)^s by inverting the cumulative weights. */
function zipfSampler(n: number, s: number, r: () => number): () => number {
  const cum = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cum[i] = acc += 1 / (i + 1) ** s;
  return () => {
    const u = r() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
