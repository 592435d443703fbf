import { describe, expect, it } from 'vitest';
import { contactCost, ownersConfigSchema } from './index.js';

const perContact = ownersConfigSchema.parse({}).cost;
const hourly = ownersConfigSchema.parse({ cost: { hourlyRate: 36 } }).cost;

describe('contactCost', () => {
  it('prices a contact by channel', () => {
    expect(contactCost({ channel: 'phone' }, perContact)).toBe(9);
    expect(contactCost({ channel: 'email' }, perContact)).toBe(4);
    expect(contactCost({ channel: 'web' }, perContact)).toBe(2);
    expect(contactCost({ channel: 'fax' }, perContact)).toBe(3); // unknown → other
    expect(contactCost({ channel: 'toString' }, perContact)).toBe(3); // not a prototype key
  });

  it('an explicit event cost wins, even zero', () => {
    expect(contactCost({ channel: 'phone', cost: 17.5, handle_seconds: 600 }, hourly)).toBe(17.5);
    expect(contactCost({ channel: 'phone', cost: 0 }, perContact)).toBe(0);
  });

  it('uses handle time × hourly rate when a rate is set', () => {
    expect(contactCost({ channel: 'chat', handle_seconds: 600 }, hourly)).toBeCloseTo(6);
    expect(contactCost({ channel: 'chat', handle_seconds: 600, cost: null }, hourly)).toBeCloseTo(6);
    // no handle time: falls back to the per-contact price
    expect(contactCost({ channel: 'chat', handle_seconds: null }, hourly)).toBe(3);
    // handle time without a rate is ignored
    expect(contactCost({ channel: 'chat', handle_seconds: 600 }, perContact)).toBe(3);
  });

  it('ignores negative or non-finite values', () => {
    expect(contactCost({ channel: 'phone', cost: Number.NaN }, perContact)).toBe(9);
    expect(contactCost({ channel: 'phone', cost: -1 }, perContact)).toBe(9);
  });
});
