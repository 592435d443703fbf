// Seeded workload for the fault suite: realistic good events, hostile-but-valid events that must be
// stored intact (masked), and a known set of poison messages with the reason code each must get.

import { mulberry32 } from '../../src/cluster/prng.js';
export type Prng = () => number;

/** mulberry32 (src/cluster/prng.ts): every run of a seed is identical. */
export const prng: (seed: number) => Prng = mulberry32;

export const pick = <T>(r: Prng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
export const int = (r: Prng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

export interface WorkItem {
  partition: number;
  value: Buffer | null;
  kind: 'good' | 'hostile' | 'bad';
  /** Good and hostile: the event id and the raw description (the oracle checks the masked copy). */
  eventId?: string;
  description?: string;
  /** Bad: the reason code the pipeline must dead-letter it with. */
  reason?: string;
  label: string;
}

const MERCHANTS = ['Tesco', 'Lidl', 'Amazon', 'Uber', 'Shell', 'IKEA', 'Zara', 'Booking.com', 'Ryanair', 'Spotify'];
const CITIES = ['Lisbon', 'Berlin', 'Madrid', 'Warsaw', 'Dublin', 'Lyon', 'Porto', 'Milan'];
const DEVICES = ['Android 14', 'iPhone 15', 'Pixel 8', 'Samsung S23', 'iPad', 'the web app'];
const CURRENCIES = ['USD', 'GBP', 'PLN', 'CHF', 'JPY', 'SEK'];
const NAMES = ['Anna Kowalska', 'John Smith', 'María García', 'Lukas Müller', 'Chloé Martin'];
const PRODUCTS = ['debit card', 'credit card', 'savings', 'transfers', 'mobile app', 'top-up'];

/** Support-case descriptions in the style of real banking tickets, with PII the masker must catch. */
const TEMPLATES: ((r: Prng) => string)[] = [
  (r) => `My card ending ${int(r, 1000, 9999)} was declined at ${pick(r, MERCHANTS)} yesterday even though I have money on the account`,
  (r) => `I was charged twice for order #A${int(r, 10, 99)}-${int(r, 1000, 9999)} at ${pick(r, MERCHANTS)}, please refund me, email ${pick(r, ['jane.doe', 'p.nowak', 'k.lee'])}@example.com`,
  (r) => `The app crashes every time I open the statements page on ${pick(r, DEVICES)}`,
  (r) => `How do I change my PIN? I tried in the app but the option is greyed out. Call me on +44 20 7946 ${int(r, 1000, 9999)}`,
  (r) => `My transfer of ${int(r, 20, 5000)} EUR to ${pick(r, NAMES)} has been pending for ${int(r, 2, 9)} days`,
  (r) => `Top up by bank transfer has not arrived, reference TRX${int(r, 100000, 999999)}`,
  (r) => `The exchange rate applied to my payment in ${pick(r, CURRENCIES)} looks wrong, I was charged more than the rate shown`,
  (r) => `I moved to ${pick(r, CITIES)} and need to change the address on my account`,
  (r) => `My virtual card disappeared from the app after the last update`,
  (r) => `Why was I charged a fee for the cash withdrawal at an ATM in ${pick(r, CITIES)}?`,
  (r) => `I cannot verify my identity, the app keeps rejecting the photo of my ID`,
  (r) => `Contactless stopped working on my card, chip and PIN still works`,
];

const CHANNELS = ['phone', 'email', 'chat', 'social', 'web', 'other'] as const;
const T0 = Date.UTC(2026, 9, 5, 6); // two weeks of event time from here

function goodEvent(r: Prng, tag: string, i: number): Record<string, unknown> {
  const ev: Record<string, unknown> = {
    event_id: `${tag}-ev-${i}`,
    case_id: `${tag}-case-${Math.floor(i / int(r, 1, 3))}`,
    customer_id: `cust-${int(r, 1, 400)}`,
    channel: pick(r, CHANNELS),
    occurred_at: new Date(T0 + Math.floor(r() * 14 * 86_400_000)).toISOString(),
    description: pick(r, TEMPLATES)(r),
  };
  if (r() < 0.4) ev['product'] = pick(r, PRODUCTS);
  if (r() < 0.3) ev['csat'] = int(r, 1, 5);
  if (r() < 0.2) ev['nps'] = int(r, 0, 10);
  if (r() < 0.2) ev['handle_seconds'] = int(r, 30, 1800);
  if (r() < 0.1) ev['tags'] = ['vip', 'escalated'].slice(0, int(r, 1, 2));
  if (r() < 0.05) ev['crm_ticket'] = `CRM-${int(r, 1, 99999)}`; // unknown field: kept in `extra`
  return ev;
}

/** Valid events whose text is hostile to SQL, HTML, terminals and bidi rendering: stored intact (masked). */
const HOSTILE_TEXTS = [
  "Robert'); DROP TABLE case_events; -- my card was declined",
  "' OR '1'='1' UNION SELECT event_id, description FROM case_events --",
  '<script>alert(document.cookie)</script><img src=x onerror="fetch(\'//evil\')"> refund please',
  'line one\r\nline two\ttabbed\u0000nul\u0007bell \u001b[31mred terminal text\u001b[0m',
  'invoice \u202Egnp.exe\u202C attached, the \u202Bرقم\u202C reference is wrong',
  'caf\u0065\u0301 zero\u200Bwidth 👩‍👩‍👧 emoji family, \uFEFF BOM inside, ½ ligature ﬁ',
  '{"event_id":"forged","case_id":"x"} \\N \\t {topic:String} $1 %s %n backslash C:\\temp\\new',
  'a'.repeat(15_990) + ' <end>',
];

/** Poison messages: (value, reason code the pipeline must give). */
function poison(r: Prng, tag: string, i: number): { value: Buffer | null; reason: string; label: string }[] {
  const base = () => goodEvent(r, `${tag}-bad`, i);
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));
  const without = (k: string) => {
    const ev = base();
    delete ev[k];
    return json(ev);
  };
  const big = (bytes: number) => json({ ...base(), description: 'x'.repeat(bytes) });
  return [
    { value: Buffer.from(`{"event_id": "${tag}-trunc-${i}", "case_id": `), reason: 'invalid_json', label: 'truncated JSON' },
    { value: Buffer.from(`{'event_id': '${tag}-${i}'}`), reason: 'invalid_json', label: 'single quotes' },
    { value: Buffer.from(`NaN`), reason: 'invalid_json', label: 'NaN' },
    { value: Buffer.from('[1,2,3]'), reason: 'not_an_object', label: 'array' },
    { value: Buffer.from('null'), reason: 'not_an_object', label: 'null literal' },
    { value: Buffer.from('"just a string"'), reason: 'not_an_object', label: 'string' },
    { value: without('description'), reason: 'schema_violation', label: 'missing description' },
    { value: without('event_id'), reason: 'schema_violation', label: 'missing event_id' },
    { value: json({ ...base(), channel: 42 }), reason: 'schema_violation', label: 'channel wrong type' },
    { value: json({ ...base(), channel: 'fax' }), reason: 'schema_violation', label: 'bad enum' },
    { value: json({ ...base(), occurred_at: 'yesterday' }), reason: 'schema_violation', label: 'bad date' },
    { value: json({ ...base(), occurred_at: '2026-13-45T99:00:00Z' }), reason: 'schema_violation', label: 'impossible date' },
    { value: json({ ...base(), csat: 9 }), reason: 'schema_violation', label: 'csat out of range' },
    { value: json({ ...base(), description: '' }), reason: 'schema_violation', label: 'empty description' },
    { value: json({ ...base(), description: 'y'.repeat(16_001) }), reason: 'schema_violation', label: 'description too long' },
    { value: json({ ...base(), channel: "email'); DROP TABLE dead_letters; --" }), reason: 'schema_violation', label: 'SQL in enum' },
    { value: json({ ...base(), event_id: '<script>alert(1)</script>', occurred_at: 1234 }), reason: 'schema_violation', label: 'hostile + wrong type' },
    { value: big(1_200_000), reason: 'oversize', label: 'oversize 1.2 MiB' },
    { value: big(3_000_000), reason: 'oversize', label: 'oversize 3 MB' },
    { value: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), reason: 'invalid_utf8', label: 'bad continuation' },
    { value: Buffer.concat([Buffer.from('{"event_id":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), reason: 'invalid_utf8', label: '0xFF byte' },
    { value: Buffer.from([0xc0, 0xaf, 0x2e, 0x2e]), reason: 'invalid_utf8', label: 'overlong' },
    { value: Buffer.concat([json(base()).subarray(0, 40), Buffer.from([0xf0, 0x9f, 0x98])]), reason: 'invalid_utf8', label: 'truncated 4-byte' },
    { value: Buffer.alloc(0), reason: 'empty', label: 'empty value' },
    { value: null, reason: 'empty', label: 'tombstone (null value)' },
  ];
}

export interface WorkloadOptions {
  seed: number;
  /** Unique per scenario, so event ids never collide across scenarios. */
  tag: string;
  good: number;
  partitions: number;
  /** How many copies of the poison set to mix in (each copy is ~25 messages). */
  poisonSets: number;
}

/** Good, hostile and poison messages in one seeded order, each with its partition. */
export function buildWorkload(o: WorkloadOptions): WorkItem[] {
  const r = prng(o.seed);
  const items: WorkItem[] = [];
  for (let i = 0; i < o.good; i++) {
    const ev = goodEvent(r, o.tag, i);
    items.push({ partition: 0, value: Buffer.from(JSON.stringify(ev)), kind: 'good', eventId: ev['event_id'] as string, description: ev['description'] as string, label: 'good' });
  }
  for (let s = 0; s < o.poisonSets; s++) {
    HOSTILE_TEXTS.forEach((text, j) => {
      const ev: Record<string, unknown> = { ...goodEvent(r, o.tag, 1_000_000 + s * 100 + j), description: text };
      items.push({ partition: 0, value: Buffer.from(JSON.stringify(ev)), kind: 'hostile', eventId: ev['event_id'] as string, description: text, label: `hostile ${j}` });
    });
    for (const p of poison(r, o.tag, s)) items.push({ partition: 0, value: p.value, kind: 'bad', reason: p.reason, label: p.label });
  }
  // Seeded shuffle, then a seeded partition per message.
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  for (const it of items) it.partition = Math.floor(r() * o.partitions);
  return items;
}
