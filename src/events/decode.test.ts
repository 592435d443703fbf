import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../cluster/prng.js';
import { DATETIME_PATTERN, decodeEvent, decodeEventText, fastParse } from './decode.js';
import { caseEventSchema } from './schema.js';
import { caseEventRow } from '../pipeline/rows.js';

const good = {
  event_id: 'e1',
  case_id: 'c1',
  customer_id: 'u1',
  channel: 'email',
  occurred_at: '2026-11-02T10:00:00+01:00',
  description: 'My card was declined',
};
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodeEvent', () => {
  it('says why JSON is invalid without quoting the input', () => {
    const r = decodeEvent(bytes('{"event_id":"e1","email": jane.doe@example.com}'), 1 << 20);
    expect(r).toEqual({ ok: false, code: 'invalid_json', reason: "invalid JSON: Unexpected token 'j'" });
    expect(decodeEvent(bytes('{"a":1'), 1 << 20)).toMatchObject({ reason: expect.stringMatching(/^invalid JSON: Expected ',' or '}' after property value in JSON at position 6/) });
  });

  it('refuses an extra field nested deeper than its masking walks, and takes one at the limit', () => {
    const nest = (n: number) => `${'['.repeat(n)}1${']'.repeat(n)}`;
    const deep = decodeEvent(bytes(`${JSON.stringify(good).slice(0, -1)},"x":${nest(5000)}}`), 1 << 20);
    expect(deep).toMatchObject({ ok: false, code: 'schema_violation', reason: 'x: nested deeper than 64 levels' });
    // The same through zod's path (a field it trims), and in an object.
    const viaZod = decodeEvent(bytes(`${JSON.stringify({ ...good, case_id: ' c1 ' }).slice(0, -1)},"y":${'{"a":'.repeat(65)}1${'}'.repeat(65)}}`), 1 << 20);
    expect(viaZod).toMatchObject({ ok: false, code: 'schema_violation', reason: 'y: nested deeper than 64 levels' });
    const limit = decodeEvent(bytes(`${JSON.stringify(good).slice(0, -1)},"x":${nest(64)}}`), 1 << 20);
    expect(limit.ok).toBe(true);
    if (limit.ok) expect(() => caseEventRow(limit.event, limit.extra, { topic: 't', partition: 0, offset: 0n }, (t) => ({ text: t, hits: {} }), 'now')).not.toThrow();
  });


  it('accepts a valid event and keeps unknown fields as extra', () => {
    const r = decodeEvent(bytes({ ...good, crm_priority: 'high' }), 1 << 20);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.event.case_id).toBe('c1');
      expect(r.extra).toEqual({ crm_priority: 'high' });
    }
  });

  it.each([
    ['empty', Buffer.alloc(0), 'empty'],
    ['null value', null, 'empty'],
    ['truncated JSON', bytes('{"event_id": "e1", "case'), 'invalid_json'],
    ['an array', bytes([good]), 'not_an_object'],
    ['a string', bytes('"hello"'), 'not_an_object'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'invalid_utf8'],
    ['missing description', bytes({ ...good, description: undefined }), 'schema_violation'],
    ['wrong channel', bytes({ ...good, channel: 'fax' }), 'schema_violation'],
    ['number as id', bytes({ ...good, case_id: 42 }), 'schema_violation'],
    ['a date without zone semantics', bytes({ ...good, occurred_at: 'yesterday' }), 'schema_violation'],
    // Well-formed, but ClickHouse refuses them and the batch with them (or wraps them round): dead-lettered.
    ['year 0000 in a zone east of UTC', bytes({ ...good, occurred_at: '0000-01-01T00:00:00+01:00' }), 'schema_violation'],
    ['year 9999 in a zone west of UTC', bytes({ ...good, occurred_at: '9999-12-31T23:59:59-01:00' }), 'schema_violation'],
    ['a time before 1970', bytes({ ...good, occurred_at: '1969-12-31T23:59:59Z' }), 'schema_violation'],
    ['a time from 2100 on', bytes({ ...good, occurred_at: '2100-01-01T00:00:00Z' }), 'schema_violation'],
    ['csat out of range', bytes({ ...good, csat: 11 }), 'schema_violation'],
  ])('rejects %s with a reason instead of throwing', (_name, input, code) => {
    const r = decodeEvent(input as Buffer | null, 1 << 20);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(code);
      expect(r.reason.length).toBeGreaterThan(3);
    }
  });

  it('rejects oversize messages before parsing them', () => {
    const r = decodeEvent(bytes({ ...good, description: 'x'.repeat(2 * 1024 * 1024) }), 1 << 20);
    expect(r).toMatchObject({ ok: false, code: 'oversize' });
  });

  it('rejects a description over the contract bound even inside the byte limit', () => {
    const r = decodeEvent(bytes({ ...good, description: 'x'.repeat(20_000) }), 1 << 20);
    expect(r).toMatchObject({ ok: false, code: 'schema_violation' });
    if (!r.ok) expect(r.reason).toMatch(/^description:/);
  });

  it('names the failing field', () => {
    const r = decodeEventText(JSON.stringify({ ...good, channel: 'fax' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^channel:/);
  });

  it('treats hostile strings as data', () => {
    const r = decodeEvent(bytes({ ...good, description: "'); DROP TABLE x; -- <script>alert(1)</script>\u0000" }), 1 << 20);
    expect(r.ok).toBe(true);
  });
});

describe('decoding without zod for the common case', () => {
  /** What decodeEventText returned before the fast path: zod decides everything. */
  function throughZod(text: string): unknown {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not an object';
    const parsed = caseEventSchema.safeParse(value);
    if (!parsed.success) return { ok: false };
    const extra: Record<string, unknown> = {};
    const known = new Set(Object.keys(caseEventSchema.shape));
    for (const [k, v] of Object.entries(parsed.data)) if (!known.has(k)) extra[k] = v;
    // The contract keeps every unknown key, "__proto__" too (zod's assignment would drop it).
    const proto = Object.getOwnPropertyDescriptor(value, '__proto__');
    if (proto) Object.defineProperty(extra, '__proto__', { value: proto.value, enumerable: true, writable: true, configurable: true });
    return { ok: true, event: parsed.data, extra, keys: Object.keys(parsed.data) };
  }
  function now(text: string): unknown {
    const r = decodeEventText(text);
    if (!r.ok) return r.code === 'not_an_object' ? 'not an object' : { ok: false };
    return { ok: true, event: r.event, extra: r.extra, keys: Object.keys(r.event) };
  }

  const full = {
    ...good,
    subject: 'Card',
    product: 'debit',
    category: 'cards',
    tags: ['a', 'b'],
    language: 'en',
    type: 'message',
    csat: 4.5,
    nps: 9,
    effort: 2,
    handle_seconds: 120,
    cost: 3.25,
  };
  const s = (n: number, c = 'x') => c.repeat(n);
  // Values to try per field: valid ones, boundaries on both sides, wrong types, hostile strings.
  const variants: Record<string, unknown[]> = {
    event_id: ['e', ' e ', '  ', '', s(256), s(257), ` ${s(256)} `, 7, null, ['e'], '\u0000', 'ü'],
    case_id: ['c', '\tc\n', s(256), s(257), '', 0, false],
    customer_id: ['u', ' ', s(257), 3, null],
    channel: ['phone', 'web', 'other', 'Phone', 'fax', '', 1],
    occurred_at: ['1970-01-01T00:00:00Z', '2099-12-31T23:59:59.999Z', '1970-01-01T00:59:59+01:00', '0000-01-01T00:00:00Z', '2026-11-02T10:00:00Z', '2026-11-02T10:00:00.123456Z', '2024-02-29T00:00:00-05:30', '2026-02-29T00:00:00Z', '2026-11-02T10:00Z', '2026-11-02 10:00:00Z', '2026-11-02T10:00:00', '2026-11-02T24:00:00Z', '2026-11-02T10:00:00+25:00', 'yesterday', 1_700_000_000_000],
    description: ['d', '', s(16_000), s(16_001), '日本語の説明', 'a\u2028b', 5, ['d']],
    subject: ['', s(1000), s(1001), 1],
    product: ['', s(256), s(257), {}],
    category: [s(256), s(257), null],
    tags: [[], ['x'], Array(50).fill('t'), Array(51).fill('t'), [s(257)], [1], 'x', null],
    language: ['', s(35), s(36), 9],
    type: ['opened', 'survey', 'closed', ''],
    csat: [1, 5, 0.999, 5.001, 3.3, '4', null],
    nps: [0, 10, 5, 5.5, -1, 11, '9'],
    effort: [1, 7, 0, 8, 1.5],
    handle_seconds: [0, 86_400 * 30, 86_400 * 30 + 1, -0.1, 12.5],
    cost: [0, 1_000_000, 1_000_000.01, -1, 2.5],
  };

  it('gives exactly what zod gives (acceptance, values, key order, extras) on valid, boundary and hostile input', () => {
    const u = mulberry32(5);
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(u() * a.length)]!;
    const fields = Object.keys(variants);
    const texts: string[] = [JSON.stringify(full), JSON.stringify(good)];
    for (let i = 0; i < 4000; i++) {
      const e: Record<string, unknown> = { ...(u() < 0.5 ? full : good) };
      for (let m = 0; m < 1 + Math.floor(u() * 3); m++) {
        const f = pick(fields);
        if (u() < 0.1) delete e[f];
        else e[f] = pick(variants[f]!);
      }
      if (u() < 0.3) e[pick(['crm', 'constructor', 'toString', 'hasOwnProperty', 'x-y'])] = pick([1, 'v', null, { a: 1 }, [2]]);
      // Contract order (the event is returned as parsed) or another order (rebuilt in contract order).
      let text = JSON.stringify(u() < 0.3 ? Object.fromEntries(Object.entries(e).sort(() => u() - 0.5)) : e);
      if (u() < 0.05) text = text.replace(/^\{/, '{"__proto__":{"polluted":true},');
      texts.push(text);
    }
    let fast = 0;
    for (const text of texts) {
      expect(JSON.stringify(now(text)), text).toBe(JSON.stringify(throughZod(text)));
      const v = JSON.parse(text) as Record<string, unknown>;
      if (fastParse(v)) fast++;
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The fast path really carries the valid events (the assertion above holds either way).
    expect(fastParse(JSON.parse(JSON.stringify(full)) as Record<string, unknown>)).toBeDefined();
    expect(fast).toBeGreaterThan(texts.length / 4);
  });

  it('keeps an extra field named __proto__ as an own key, at the top as nested, and never as a prototype', () => {
    const r = decodeEventText(JSON.stringify(full).replace(/^\{/, '{"__proto__":{"tier":"gold"},'));
    expect(r.ok && JSON.stringify(r.extra)).toBe('{"__proto__":{"tier":"gold"}}');
    expect(r.ok && Object.getPrototypeOf(r.extra)).toBe(Object.prototype);
    expect(r.ok && (r.extra as Record<string, unknown>)['tier']).toBeUndefined();
  });

  it('returns an event in contract order as parsed, and rebuilds any other in contract order with ids trimmed', () => {
    const inOrder = decodeEventText(JSON.stringify(full));
    expect(inOrder.ok && Object.keys(inOrder.event)).toEqual(Object.keys(full));
    const { description, ...rest } = full;
    const rebuilt = decodeEventText(JSON.stringify({ crm: 1, description, ...rest, event_id: ' e1 ' }));
    expect(rebuilt.ok && [Object.keys(rebuilt.event), rebuilt.event.event_id, rebuilt.extra]).toEqual([[...Object.keys(full), 'crm'], 'e1', { crm: 1 }]);
    const padded = decodeEventText(JSON.stringify({ ...full, case_id: '\u00a0c1\t' }));
    expect(padded.ok && [Object.keys(padded.event), padded.event.case_id]).toEqual([Object.keys(full), 'c1']);
  });

  it("finds the contract's date-time pattern inside the schema (else every event would go through zod)", () => {
    expect(DATETIME_PATTERN).toBeInstanceOf(RegExp);
    expect(DATETIME_PATTERN!.test('2026-11-02T10:00:00+01:00')).toBe(true);
    expect(DATETIME_PATTERN!.test('2026-11-02T10:00')).toBe(false);
  });
});
