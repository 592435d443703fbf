import { describe, expect, it } from 'vitest';
import { CsvError, parseCsv, parseCsvRecords } from './csv.js';

describe('parseCsv', () => {
  it('reads plain rows, ignoring one trailing line break', () => {
    expect(parseCsv('a,b\n1,2\n')).toEqual([['a', 'b'], ['1', '2']]);
    expect(parseCsv('a,b\n1,2')).toEqual([['a', 'b'], ['1', '2']]);
  });

  it('handles quotes, escaped quotes, delimiters and line breaks inside fields', () => {
    const text = 'text,label\n"I still have not received my card, help",card\n"She said ""hi""",x\n"line1\nline2",y\n';
    expect(parseCsv(text)).toEqual([
      ['text', 'label'],
      ['I still have not received my card, help', 'card'],
      ['She said "hi"', 'x'],
      ['line1\nline2', 'y'],
    ]);
  });

  it('accepts CRLF records (and CRLF inside quotes is kept) and strips a BOM', () => {
    expect(parseCsv('\ufeffa,b\r\n1,"x\r\ny"\r\n')).toEqual([['a', 'b'], ['1', 'x\r\ny']]);
  });

  it('keeps empty fields and empty quoted fields', () => {
    expect(parseCsv('a,,c\n,"",\n')).toEqual([['a', '', 'c'], ['', '', '']]);
  });

  it('supports a tab delimiter', () => {
    expect(parseCsv('a\tb\n"x\ty"\tz\n', { delimiter: '\t' })).toEqual([['a', 'b'], ['x\ty', 'z']]);
  });

  it('rejects an unterminated quote and junk after a closing quote', () => {
    expect(() => parseCsv('a\n"open')).toThrow(CsvError);
    expect(() => parseCsv('"a"b,c')).toThrow(/after closing quote/);
    expect(() => parseCsv('a', { delimiter: '"' })).toThrow(RangeError);
  });

  it('builds records keyed by the header', () => {
    const { header, records } = parseCsvRecords('text,category\nhello,greet\n"a, b",x\n');
    expect(header).toEqual(['text', 'category']);
    expect(records).toEqual([{ text: 'hello', category: 'greet' }, { text: 'a, b', category: 'x' }]);
  });
});

describe('parseCsvRecords', () => {
  it('skips blank lines, and refuses a record with another number of fields than the header, naming it', () => {
    expect(parseCsvRecords('text,label\r\ncard declined,card\r\n\r\nparcel lost,post\r\n\r\n').records).toEqual([
      { text: 'card declined', label: 'card' },
      { text: 'parcel lost', label: 'post' },
    ]);
    expect(() => parseCsvRecords('text,label\nmy card was declined, at the shop,card\n')).toThrow(/record 1 has 3 fields, the header 2/);
    expect(() => parseCsvRecords('text,label\nok,a\nshort\n')).toThrow(/record 2 has 1 fields, the header 2/);
  });
});
