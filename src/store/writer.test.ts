import { describe, expect, it } from 'vitest';
import { chTime, chTimeOf, classifyStoreError, tabSeparated } from './writer.js';

const toTabSeparated = (rows: object[], columns: string[]): string => tabSeparated(rows, columns).toString('utf8');

describe('tabSeparated', () => {
  it('escapes exactly the bytes TabSeparated parsing treats specially', () => {
    const out = toTabSeparated([{ a: 'x\ty\nz\r\\\u0000', b: "it's", c: null, d: 3.5, e: ['q\'t', 'b\\s', 'tab\t'], f: true }], ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(out).toBe("x\\ty\\nz\\r\\\\\\0\tit's\t\\N\t3.5\t['q\\'t','b\\\\s','tab\\t']\t1\n");
  });

  it('writes one line per row in the given column order', () => {
    expect(toTabSeparated([{ a: 1, b: 'two' }, { b: 'four', a: 3 }], ['b', 'a'])).toBe('two\t1\nfour\t3\n');
  });

  it('encodes UTF-8 exactly, however long the batch and whatever its characters', () => {
    const text = ['plain ascii', 'Latin-1 café ñ', 'CJK 漢字, emoji 😀, a surrogate pair 𝄞', 'x'.repeat(5000)];
    const rows = Array.from({ length: 3000 }, (_, i) => ({ n: i, s: text[i % text.length]! }));
    const expected = rows.map((r) => `${r.n}\t${r.s}\n`).join('');
    const bytes = tabSeparated(rows, ['n', 's']);
    expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    const huge = [{ s: `${'é'.repeat(300_000)}😀` }, { s: 'after' }]; // one line far beyond the first buffer
    expect(tabSeparated(huge, ['s']).toString('utf8')).toBe(`${huge[0]!.s}\nafter\n`);
  });

  it('writes every row in column order, whatever order its own keys are in, a missing column as \\N', () => {
    const columns = ['a', 'b', 'c'];
    const rows = [
      { a: 1, b: 'x', c: 2 }, // the columns' own order
      { c: 3, a: 4, b: 'y' }, // another order
      { a: 5, c: 6 }, // b missing
      { a: 7, b: 'z', c: 8, d: 'not a column' }, // an extra key
      Object.assign(Object.create({ a: 'inherited' }) as object, { b: 'w', c: 9 }), // a only inherited
    ];
    expect(toTabSeparated(rows, columns)).toBe('1\tx\t2\n4\ty\t3\n5\t\\N\t6\n7\tz\t8\ninherited\tw\t9\n');
  });

  it('writes a lone surrogate as U+FFFD, as Buffer#write does, even at the end of a line or field', () => {
    const rows = [{ a: 'x\ud83d', b: '\ude00y' }, { a: '\ud83d', b: '\ud83d' }, { a: '😀', b: '\udfff\ud800' }];
    const expected = rows.map((r) => `${r.a}\t${r.b}\n`).join('');
    expect(tabSeparated(rows, ['a', 'b']).equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(tabSeparated(rows, ['b']).toString('utf8')).toBe('\ufffdy\n\ufffd\n\ufffd\ufffd\n');
  });

  it('fills the buffer to its last byte and grows it exactly when a line feed does not fit', () => {
    // One row: a first buffer of 4096 bytes. Lines of 4094 to 4097 bytes around its end, in 1-3 byte characters.
    for (const ch of ['x', 'é', '漢']) {
      for (let bytes = 4094; bytes <= 4097; bytes++) {
        const s = ch.repeat(Math.floor(bytes / Buffer.byteLength(ch))) + 'x'.repeat(bytes % Buffer.byteLength(ch));
        const rows = [{ s }, { s: 'after' }];
        expect(tabSeparated([rows[0]!], ['s']).equals(Buffer.from(`${s}\n`))).toBe(true);
        expect(tabSeparated(rows, ['s']).equals(Buffer.from(`${s}\nafter\n`))).toBe(true);
      }
    }
  });

  it('refuses values it cannot write faithfully', () => {
    expect(() => toTabSeparated([{ a: { nested: 1 } }], ['a'])).toThrow(/cannot write a object/);
  });
});

describe('chTimeOf', () => {
  it('is chTime(Date.parse(x)) for every ISO timestamp, canonical or not', () => {
    const cases = [
      '2026-10-01T00:00:00.000Z', '2026-12-31T23:59:59.999Z', '2026-02-28T12:00:00.000Z',
      '2026-02-29T12:00:00.000Z', '2026-02-30T12:00:00.000Z', '2026-04-31T00:00:00.000Z', '2024-02-29T01:02:03.004Z',
      '2026-10-01T02:00:00+02:00', '2026-10-01T00:00:00Z', '2026-10-01T00:00:00.5Z', '2026-10-01T00:00:00.123456Z',
      '2026-10-19T09:30:00.000-07:00',
    ];
    for (const iso of cases) expect(chTimeOf(iso), iso).toBe(chTime(Date.parse(iso)));
  });
});

describe('classifyStoreError', () => {
  it('retries what passes (memory pressure, a network error) and not what a retry repeats', () => {
    expect(classifyStoreError(new Error('Code: 241. DB::Exception: Memory limit (total) exceeded'), 't').retriable).toBe(true);
    expect(classifyStoreError(new Error('connect ECONNREFUSED 127.0.0.1:8123'), 't').retriable).toBe(true);
    expect(classifyStoreError(new Error('Code: 27. DB::Exception: Cannot parse input'), 't').retriable).toBe(false);
    expect(classifyStoreError(new Error('Code: 60. DB::Exception: Unknown table'), 't').retriable).toBe(false);
  });
});
