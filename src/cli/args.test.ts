import { describe, expect, it } from 'vitest';
import { int, parse, UsageError } from './args.js';

describe('int flags', () => {
  const v = (x: string) => ({ n: x });

  it('takes whole numbers in decimal digits within the bounds given', () => {
    expect(int(v('80'), 'n')).toBe(80);
    expect(int(v('-3'), 'n')).toBe(-3);
    expect(int(v('0'), 'n', { min: 0, max: 65535 })).toBe(0);
    expect(int(v('65535'), 'n', { min: 0, max: 65535 })).toBe(65535);
    expect(int({}, 'n')).toBeUndefined();
  });

  it('refuses an empty value, hex, exponents, fractions and numbers out of range, saying the range', () => {
    // Number() read "" as 0 (a random port) and "0x50" as 80; a --limit past 2^32 wrapped round in UInt32.
    for (const bad of ['', ' 5', '0x50', '1e3', '2.5', '5 ', '+', '99999999999999999']) expect(() => int(v(bad), 'n'), bad).toThrow(UsageError);
    expect(() => int({ port: '99999' }, 'port', { min: 0, max: 65535 })).toThrow('--port takes a whole number from 0 to 65535, got "99999"');
    expect(() => int({ limit: '4294967296' }, 'limit', { min: 1, max: 10_000 })).toThrow('--limit takes a whole number from 1 to 10000, got "4294967296"');
    expect(() => int({ limit: '0' }, 'limit', { min: 1 })).toThrow('--limit takes a whole number from 1, got "0"');
  });
});

describe('parse', () => {
  it('refuses arguments past the number a command takes, naming them, instead of ignoring them', () => {
    expect(parse(['c_1', '--json'], { json: { type: 'boolean' } }, 1).positionals).toEqual(['c_1']);
    expect(() => parse(['c_1', 'c_2'], { json: { type: 'boolean' } }, 1)).toThrow(/unexpected argument "c_2"/);
    expect(() => parse(['set', 'c_1', 'open', 'extra', 'more'], {}, 3)).toThrow(/unexpected arguments "extra" "more"/);
    expect(() => parse(['c_1'], {}, false)).toThrow(UsageError);
  });
});
