import { describe, expect, it } from 'vitest';
import { toTabSeparated } from './writer.js';

describe('toTabSeparated', () => {
  it('escapes exactly the bytes TabSeparated parsing treats specially', () => {
    const out = toTabSeparated([{ a: 'x\ty\nz\r\\\u0000', b: "it's", c: null, d: 3.5, e: ['q\'t', 'b\\s', 'tab\t'], f: true }], ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(out).toBe("x\\ty\\nz\\r\\\\\\0\tit's\t\\N\t3.5\t['q\\'t','b\\\\s','tab\\t']\t1\n");
  });

  it('writes one line per row in the given column order', () => {
    expect(toTabSeparated([{ a: 1, b: 'two' }, { b: 'four', a: 3 }], ['b', 'a'])).toBe('two\t1\nfour\t3\n');
  });

  it('refuses values it cannot write faithfully', () => {
    expect(() => toTabSeparated([{ a: { nested: 1 } }], ['a'])).toThrow(/cannot write a object/);
  });
});
