import { describe, expect, it } from 'vitest';
import { decodeEvent, decodeEventText } from './decode.js';

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
