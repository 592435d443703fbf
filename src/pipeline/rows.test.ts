import { describe, expect, it } from 'vitest';
import { compileMaskRules, maskPii } from '../text/mask.js';
import { normalizeText } from '../text/normalize.js';
import { decodeEvent } from '../events/index.js';
import { caseEventRow, deadLetterRow, maskJsonText, type Masker } from './rows.js';

const rules = compileMaskRules();
const mask: Masker = (t) => maskPii(t, rules);
const at = { topic: 't', partition: 0, offset: 7n };

describe('stored rows mask PII inside JSON', () => {
  it('masks unknown fields value by value, after escapes too, and keeps valid JSON', () => {
    const extra = { crm_note: 'Call back:\n555-123-4567', ip: 'x\n192.168.1.20', callback: 5551234567, nested: [{ mail: 'j\u00fcrgen.m@example.com' }], n: 3, vips: { 'jane.doe@example.com': 'gold' } };
    const { text, hits } = maskJsonText(extra, mask);
    const back = JSON.parse(text) as typeof extra;
    expect(text).not.toMatch(/4567|192\.168|example\.com/);
    expect(back.crm_note).toBe(mask('Call back:\n555-123-4567').text);
    expect(back.n).toBe(3); // a number that is not PII stays a number
    expect(Object.values(hits).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4);
    const row = caseEventRow({ event_id: 'e', case_id: 'c', channel: 'chat', occurred_at: '2026-11-02T10:00:00Z', description: 'hi' }, extra, { ...at }, mask, '2026-11-02 10:00:00.000');
    expect(row.row.extra).toBe(text);
    expect(row.row.pii_masked).toBeGreaterThanOrEqual(4);
  });

  it('masks a dead letter value by value when it is JSON, and between escapes when it is not', () => {
    const violation = Buffer.from(JSON.stringify({ event_id: 'e', note: 'Call back:\n555-123-4567', mail: 'j\u00fcrgen.m@example.com' }));
    const d = deadLetterRow({ ok: false, code: 'schema_violation', reason: 'channel: required' }, violation, at, mask, 0);
    expect(d.payload).not.toMatch(/4567|example\.com/);
    expect(() => JSON.parse(d.payload)).not.toThrow();
    // Broken JSON, escaped the way Python writes it: still masked after each escape.
    const broken = Buffer.from('{"note": "Call back:\\n555-123-4567", "mail": "j\\u00fcrgen.m@example.com", ');
    const b = deadLetterRow({ ok: false, code: 'invalid_json', reason: 'bad' }, broken, at, mask, 0);
    expect(b.payload).not.toMatch(/4567|example\.com/);
    expect(b.payload).toContain('\\n');
    expect(b.payload_bytes).toBe(broken.length);
  });

  it('keeps both values of two keys that mask alike', () => {
    const { text } = maskJsonText({ 'jane@example.com': 'gold', 'joe@example.com': 'silver' }, mask);
    expect(JSON.parse(text)).toEqual({ '<EMAIL>': 'gold', '<EMAIL>#2': 'silver' });
  });

  it('numbers many keys masked alike in order, and keeps a key named __proto__', () => {
    // 20,000 phone-number keys: each found its number by probing from #2 upwards (29 s, past the consumer's
    // session timeout, so the partition stalled on the message).
    const keys = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`+44 7700 9${String(i).padStart(5, '0')}`, i]));
    const out = JSON.parse(maskJsonText(keys, mask).text) as Record<string, number>;
    expect(Object.keys(out)).toHaveLength(20_000);
    expect([out['<PHONE>'], out['<PHONE>#2'], out['<PHONE>#20000']]).toEqual([0, 1, 19_999]);
    // A key that masks to what a numbered one is already called is numbered past it.
    expect(JSON.parse(maskJsonText({ 'a@x.com': 1, '<EMAIL>#2': 2, 'b@x.com': 3 }, mask).text)).toEqual({ '<EMAIL>': 1, '<EMAIL>#2': 2, '<EMAIL>#3': 3 });
    const proto = JSON.parse('{"crm":{"__proto__":{"tier":"gold"},"k":1}}') as unknown;
    expect(maskJsonText(proto, mask).text).toBe('{"crm":{"__proto__":{"tier":"gold"},"k":1}}');
  });

  it('dead-letters JSON nested too deep to walk, masked between escapes, without overflowing the stack', () => {
    const deep = `{"event_id":"e","note":"mail jane.doe@example.com","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    const d = deadLetterRow({ ok: false, code: 'schema_violation', reason: 'x: nested deeper than 64 levels' }, Buffer.from(deep), at, mask, 0);
    expect(d.payload).toContain('<EMAIL>');
    expect(d.payload).not.toMatch(/example\.com/);
  });

  it('masks a long reason before cutting it: an address the reason quotes at its cut is not stored half', () => {
    const key = `${'note '.repeat(196)}jane.doe@example.com`;
    const bytes = Buffer.from(JSON.stringify({ event_id: 'e', case_id: 'c', channel: 'chat', occurred_at: '2026-11-01T10:00:00Z', description: 'd', [key]: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) }));
    const rej = decodeEvent(bytes, 1 << 20);
    expect(rej).toMatchObject({ ok: false, code: 'schema_violation' });
    const d = deadLetterRow(rej as Extract<typeof rej, { ok: false }>, bytes, at, mask, 0);
    expect(d.reason.length).toBeLessThanOrEqual(1000);
    expect(d.reason).not.toMatch(/jane|example/);
  });

  it('withholds a reason that quotes text growing past bounds under normalisation, instead of failing the batch', () => {
    const product: Masker = (t) => maskPii(normalizeText(t), rules);
    const key = '\uFDFA'.repeat(70);
    const d = deadLetterRow({ ok: false, code: 'schema_violation', reason: `${key}: nested deeper than 64 levels` }, Buffer.from(`{"${key}":1}`), at, product, 0);
    expect(d.reason).toBe('schema_violation: the reason quotes text that grows past bounds under Unicode normalisation (withheld)');
    expect(d.payload).toBe('');
  });

  it('masks a dead letter that is UTF-16 or Latin-1, and an address written with JSON escapes', () => {
    const json = '{"event_id":"e2","description":"call +44 7700 900123, mail jane.doe@example.com, Rückruf an jürgen@müller.de"}';
    const bom = (b: Buffer, mark: number[]) => Buffer.concat([Buffer.from(mark), b]);
    const le = Buffer.from(json, 'utf16le');
    const be = Buffer.from(le).swap16();
    // Read as UTF-8 these kept every number and address: NULs between the characters, or replacement characters in them.
    for (const [name, bytes] of [['UTF-16LE with a BOM', bom(le, [0xff, 0xfe])], ['UTF-16BE with a BOM', bom(be, [0xfe, 0xff])], ['UTF-16LE', le], ['UTF-16BE', be], ['Latin-1', Buffer.from(json, 'latin1')]] as const) {
      const d = deadLetterRow({ ok: false, code: 'invalid_utf8', reason: 'not UTF-8' }, bytes, at, mask, 0);
      expect(d.payload, name).toBe('{"event_id":"e2","description":"call <PHONE>, mail <EMAIL>, Rückruf an <EMAIL>"}');
      expect(d.payload_bytes).toBe(bytes.length);
    }
    // ASCII in UTF-16 without a mark is valid UTF-8 (NULs and all), so it comes as invalid JSON: still read as UTF-16.
    const ascii = Buffer.from('{"note":"call jane.doe@example.com or +44 7700 900123"}', 'utf16le');
    expect(deadLetterRow({ ok: false, code: 'invalid_json', reason: 'bad' }, ascii, at, mask, 0).payload).toBe('{"note":"call <EMAIL> or <PHONE>"}');
    // UTF-8 with one stray Windows-1252 byte: the rest stays UTF-8 (read all as Latin-1, every accented
    // letter was garbled and the addresses with them went unmasked).
    const stray = Buffer.concat([Buffer.from('{"note":"Rückruf an jürgen.m@example.de '), Buffer.from([0x96]), Buffer.from(' bitte, oder zoë.obrien@exämple.de"}')]);
    expect(deadLetterRow({ ok: false, code: 'invalid_utf8', reason: 'not UTF-8' }, stray, at, mask, 0).payload).toBe('{"note":"Rückruf an <EMAIL> \u0096 bitte, oder <EMAIL>"}');
    // Invalid JSON as Python writes it (every non-ASCII letter escaped), cut short: the address is masked whole.
    const escaped = Buffer.from('{"event_id":"e2","description":"R\\u00fcckruf an j\\u00fcrgen@m\\u00fcller-b\\u00e4ckerei.de bitte\\n", ');
    const e = deadLetterRow({ ok: false, code: 'invalid_json', reason: 'bad' }, escaped, at, mask, 0);
    expect(e.payload).toBe('{"event_id":"e2","description":"Rückruf an <EMAIL> bitte\\n", ');
    // An escaped backslash before "u00fc" is a backslash and text, left as it is.
    const path = Buffer.from('{"path":"C:\\\\u00fc\\u0022", ');
    expect(deadLetterRow({ ok: false, code: 'invalid_json', reason: 'bad' }, path, at, mask, 0).payload).toBe('{"path":"C:\\\\u00fc\\u0022", ');
  });

  it('masks across the escapes other encoders write: \\/ in a URL, and \\t between a card\'s or an IBAN\'s groups', () => {
    // The pipeline's masker: normalised first (a tab between digit groups is a space to the rules).
    const product: Masker = (t) => maskPii(normalizeText(t), rules);
    const php = Buffer.from('{"note":"reset https:\\/\\/shop.example.com\\/account\\/reset?token=8f14e45fceea167a","card":"4111\\t1111\\t1111\\t1111","iban":"DE89\\t3704\\t0044\\t0532\\t0130\\t00", ');
    const d = deadLetterRow({ ok: false, code: 'invalid_json', reason: 'bad' }, php, at, product, 0);
    expect(d.payload).not.toMatch(/8f14e45f|shop\.example|4111|3704/);
    expect(d.payload).toBe('{"note":"reset <URL>","card":"<CARD>","iban":"<IBAN>",');
  });

  it('leaves no half-masked item at the cut of an oversize dead letter dense with PII', () => {
    const emails = Array.from({ length: 9000 }, (_, i) => `jane.doe${String(i).padStart(6, '0')}@example-company.com`).join(' ');
    const d = deadLetterRow({ ok: false, code: 'oversize', reason: 'too big' }, Buffer.from(emails), at, mask, 0);
    expect(d.payload).not.toMatch(/@|example-company|jane\.doe/);
  });

  it('keeps a bounded, masked head of an oversize dead letter', () => {
    const big = Buffer.from(`{"note": "call 555-123-4567", "pad": "${'\\n'.repeat(400_000)}"}`);
    const d = deadLetterRow({ ok: false, code: 'oversize', reason: 'too big' }, big, at, mask, 0);
    expect(Buffer.byteLength(d.payload)).toBeLessThanOrEqual(64 * 1024);
    expect(d.payload).toContain('<PHONE>');
    expect(d.payload_bytes).toBe(big.length);
  });
});

describe('caseEventRow', () => {
  const ev = { event_id: 'e', case_id: 'c', channel: 'chat' as const, occurred_at: '2026-11-02T10:00:00.000Z', description: 'mail a@example.com' };

  it('masks subject, tags and extra fields when present and counts every hit', () => {
    const { row } = caseEventRow({ ...ev, subject: 'call +44 7700 900123', tags: ['b@example.com', 'vip'] }, { note: 'c@example.com' }, at, mask, 'now');
    expect([row.subject, row.tags, row.extra, row.pii_masked]).toEqual(['call <PHONE>', ['<EMAIL>', 'vip'], '{"note":"<EMAIL>"}', 3]);
  });

  it('writes an absent subject, tags and extra as empty without masking them, and counts the rest', () => {
    const seen: string[] = [];
    const spy: Masker = (t) => (seen.push(t), mask(t));
    const { row } = caseEventRow(ev, {}, at, spy, 'now');
    expect([row.subject, row.tags, row.extra, row.pii_masked, row.description]).toEqual(['', [], '', 1, 'mail <EMAIL>']);
    expect(seen).toEqual([ev.description]);
    // An inherited key is not an extra field (Object.keys counts own keys only).
    expect(caseEventRow(ev, Object.create({ inherited: 'd@example.com' }) as Record<string, unknown>, at, mask, 'now').row.extra).toBe('');
  });
});
