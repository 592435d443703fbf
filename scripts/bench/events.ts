// Bench workload: case events whose descriptions are real customer-service queries (Banking77 train,
// CC BY 4.0), with PII sprinkled in, omnichannel cases, and event times over 30 days. Seeded.
import { readFileSync } from 'node:fs';
import { parseCsvRecords } from '../../src/eval/csv.js';
import { mulberry32 } from '../../src/cluster/prng.js';
import { evalData } from '../eval-data.js';

// Read on first use only: the synthetic-topics mode needs no texts.
let texts: string[] | undefined;
const bankingTexts = () => (texts ??= parseCsvRecords(readFileSync(evalData('banking77/train.csv'), 'utf8')).records.map((r) => r['text']!));
const CHANNELS = ['email', 'chat', 'phone', 'social', 'web'] as const;
const PII = [' Contact me at alex.k@example.com', ' Card 4111 1111 1111 1111', ' Call +44 7700 900123', ' Order #A1234-77', ''];

export interface BenchEventOptions {
  seed?: number;
  /**
   * With N > 0, descriptions are synthetic problems of N distinct topics (three made-up words of its own
   * each, plus common words), for a run with thousands of live clusters (the memory target at 10,000).
   */
  topics?: number;
  startMs?: number;
  spanMs?: number;
}

/** The i-th event of a seeded stream (stable across runs: the same i gives the same event). */
export function makeEventFactory(o: BenchEventOptions = {}) {
  const rand = mulberry32(o.seed ?? 7);
  const start = o.startMs ?? Date.UTC(2026, 9, 1);
  const span = o.spanMs ?? 30 * 86_400_000;
  const topics = o.topics ?? 0;
  // Letters only (the tokenizer drops tokens with digits as identifiers), distinct per topic and slot.
  const word = (k: number, j: number) => {
    let h = (k * 2654435761 + j * 40503 + 12345) >>> 0;
    let w = String.fromCharCode(98 + j);
    for (let c = 0; c < 6; c++, h = Math.floor(h / 26)) w += String.fromCharCode(97 + (h % 26));
    return w;
  };
  return (i: number, total: number) => {
    const k = topics > 0 ? Math.floor(rand() * topics) : 0;
    const text = topics > 0 ? `the ${word(k, 0)} stopped working after the ${word(k, 1)} update, error ${word(k, 2)} again` : bankingTexts()[Math.floor(rand() * bankingTexts().length)]!;
    const pii = rand() < 0.1 ? PII[Math.floor(rand() * PII.length)]! : '';
    return {
      event_id: `B-${i}`,
      case_id: `BC-${Math.floor(i / 2)}`,
      customer_id: `BU-${Math.floor(rand() * 50_000)}`,
      channel: CHANNELS[i % CHANNELS.length]!,
      occurred_at: new Date(start + Math.floor((i / total) * span)).toISOString(),
      description: `${text}${pii}`,
      handle_seconds: 60 + Math.floor(rand() * 900),
    };
  };
}

// `npx tsx scripts/bench/events.ts N [TOPICS] > events.ndjson` writes the first N events as NDJSON
// (file-input timings; with TOPICS, synthetic descriptions of that many topics).
if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  const n = Number(process.argv[2] ?? 100_000);
  const make = makeEventFactory({ topics: Number(process.argv[3] ?? 0) });
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(make(i, n)));
  process.stdout.write(`${lines.join('\n')}\n`);
}
