import { describe, expect, it } from 'vitest';
import { csvField, csvText } from './table.js';

describe('CSV fields', () => {
  it('quotes what would break a row', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('plain')).toBe('plain');
  });

  it('keeps free text from becoming a spreadsheet formula, and quotes it as well when needed', () => {
    expect(csvText('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    for (const v of ['+1', '-2+3', '@SUM(A1)', '\tx']) expect(csvText(v)).toBe(`'${v}`);
    expect(csvText('cust-42')).toBe('cust-42');
  });
});
