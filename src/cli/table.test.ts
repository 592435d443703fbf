import { describe, expect, it } from 'vitest';
import { csvField, csvText, table, terminalSafe } from './table.js';

describe('CSV fields', () => {
  it('quotes what would break a row', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('plain')).toBe('plain');
  });

  it('keeps free text from becoming a spreadsheet formula, and quotes it as well when needed', () => {
    expect(csvText('=HYPERLINK("http://x","y")')).toBe(`"'=HYPERLINK(""http://x"",""y"")"`);
    for (const v of ['+cmd|calc', '-2+3*A1', '@SUM(A1)', '\tx', '+HYPERLINK("x")']) expect(csvText(v)).toBe(csvField(`'${v}`));
    // Ids that are signed numbers (phone numbers) are no formula and stay exactly as they are.
    for (const v of ['+4915112345678', '+1 (415) 555-2671', '-42', 'cust-42']) expect(csvText(v)).toBe(csvField(v));
  });
});

describe('text tables', () => {
  it('keeps every row on one line whatever a value holds', () => {
    const t = table([{ id: 'c_1', label: 'card\nc_2  999  forged\r\u2028x\u001b[2J' }], [['id', 'cluster'], ['label', 'label']]);
    expect(t.split('\n')).toEqual(['cluster  label', 'c_1      card c_2  999  forged  x [2J']);
  });
});

describe('terminalSafe', () => {
  it('shows escape sequences and other control characters as \\xNN, and keeps line feeds, tabs and text', () => {
    expect(terminalSafe('cust\u001b[2J\u001b]0;owned\u0007N,1\n\tnext \u0085 é😀')).toBe('cust\\x1b[2J\\x1b]0;owned\\x07N,1\n\tnext \\x85 é😀');
    expect(terminalSafe('"victim\rattacker",row\n')).toBe('"victim\\x0dattacker",row\n');
  });
});
