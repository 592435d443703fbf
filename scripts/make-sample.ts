// Builds examples/sample-events.ndjson, the stream `recur demo` ships with: real customer queries from
// Banking77 (PolyAI, CC BY 4.0) turned into two weeks of omnichannel case events with seasonal volume,
// PII sprinkled in (to be masked), a few invalid lines (to be dead-lettered) and one injected surge.
// Deterministic: `npx tsx scripts/make-sample.ts` rewrites the same file.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseCsvRecords } from '../src/eval/csv.js';
import { mulberry32 } from '../src/cluster/prng.js';
import { evalData } from './eval-data.js';

const rand = mulberry32(77);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

const { records } = parseCsvRecords(readFileSync(evalData('banking77/train.csv'), 'utf8'));
const byCat = new Map<string, string[]>();
for (const r of records) byCat.set(r['category']!, [...(byCat.get(r['category']!) ?? []), r['text']!]);

// Twelve problems with different base rates; one of them surges on day 10.
const CATEGORIES: [string, number, string][] = [
  ['card_arrival', 3, 'cards'],
  ['declined_card_payment', 2.5, 'payments'],
  ['transaction_charged_twice', 0.6, 'payments'],
  ['pending_transfer', 2, 'transfers'],
  ['change_pin', 1.2, 'cards'],
  ['exchange_rate', 1, 'fx'],
  ['top_up_failed', 1.5, 'top-up'],
  ['lost_or_stolen_card', 0.8, 'cards'],
  ['verify_my_identity', 1.4, 'account'],
  ['request_refund', 1.1, 'payments'],
  ['apple_pay_or_google_pay', 0.9, 'wallet'],
  ['terminate_account', 0.5, 'account'],
];
const SURGE = { category: 'transaction_charged_twice', day: 10, fromHour: 9, hours: 8, extraPerHour: 6 };
const CHANNELS = ['email', 'chat', 'phone', 'social', 'web'] as const;
const COST = { email: 4, chat: 3, phone: 9, social: 5, web: 2 } as const;
const START = Date.UTC(2026, 10, 2, 0, 0, 0);
const PII = [
  (t: string) => `${t} You can reach me at sam.lee${Math.floor(rand() * 90)}@example.org`,
  (t: string) => `${t} My card is 4111 1111 1111 1111.`,
  (t: string) => `${t} Call me back on +44 7700 900${100 + Math.floor(rand() * 800)}.`,
  (t: string) => `${t} It is about order #A${Math.floor(rand() * 9000 + 1000)}-77.`,
];

function poisson(mean: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = rand();
  while (u > s && k < 1000) {
    k++;
    p *= mean / k;
    s += p;
  }
  return k;
}

const lines: string[] = [];
let caseSeq = 0;
let evSeq = 0;
for (let day = 0; day < 14; day++) {
  for (let hour = 0; hour < 24; hour++) {
    const weekday = new Date(START + day * 86_400_000).getUTCDay();
    const daily = hour >= 8 && hour < 20 ? 1 : 0.25;
    const weekly = weekday === 0 || weekday === 6 ? 0.6 : 1;
    for (const [cat, rate, product] of CATEGORIES) {
      let n = poisson((rate * daily * weekly) / 2);
      if (cat === SURGE.category && day === SURGE.day && hour >= SURGE.fromHour && hour < SURGE.fromHour + SURGE.hours) {
        n += poisson(SURGE.extraPerHour);
      }
      for (let i = 0; i < n; i++) {
        const caseId = `CS-${String(++caseSeq).padStart(6, '0')}`;
        const customer = `CU-${String(Math.floor(rand() * 900) + 100)}`;
        const messages = rand() < 0.3 ? 2 : 1;
        for (let m = 0; m < messages; m++) {
          const channel = pick(CHANNELS);
          let text = pick(byCat.get(cat)!);
          if (rand() < 0.12) text = pick(PII)(text);
          const at = START + (day * 24 + hour) * 3_600_000 + Math.floor(rand() * 3_600_000) + m * 1_800_000;
          lines.push(
            JSON.stringify({
              event_id: `EV-${String(++evSeq).padStart(7, '0')}`,
              case_id: caseId,
              customer_id: customer,
              channel,
              occurred_at: new Date(at).toISOString(),
              type: m === 0 ? 'opened' : 'message',
              description: text,
              product,
              handle_seconds: Math.round(120 + rand() * 600),
              cost: COST[channel],
              ...(m === messages - 1 && rand() < 0.3 ? { csat: 1 + Math.floor(rand() * 5) } : {}),
            }),
          );
        }
      }
    }
  }
}
// Invalid input, as real streams have it: truncated JSON, a missing field, a wrong type.
lines.splice(100, 0, '{"event_id": "EV-BAD-1", "case_id": "CS-X", "channel": "email", "occurred_at": "2026-11-02T10:00:00Z", "descr');
lines.splice(900, 0, JSON.stringify({ event_id: 'EV-BAD-2', case_id: 'CS-Y', channel: 'fax', occurred_at: '2026-11-05T10:00:00Z', description: 'Sent by fax' }));
lines.splice(2000, 0, JSON.stringify({ event_id: 'EV-BAD-3', case_id: 'CS-Z', channel: 'chat', occurred_at: 'last tuesday', description: 'no date' }));
writeFileSync(new URL('../examples/sample-events.ndjson', import.meta.url), `${lines.join('\n')}\n`);
process.stderr.write(`wrote ${lines.length} lines (${caseSeq} cases)\n`);
