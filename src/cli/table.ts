/** Plain-text tables for humans; --json prints the rows instead. */
export function table(rows: Record<string, unknown>[], columns: [key: string, title: string, width?: number][]): string {
  const cell = (v: unknown, w?: number) => {
    // One line per row: a line break or control character in a value (customer text) would forge rows.
    const s = (Array.isArray(v) ? v.join(' ') : v === null || v === undefined ? '' : String(v)).replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, ' ');
    return w && s.length > w ? `${s.slice(0, w - 1)}…` : s;
  };
  const widths = columns.map(([k, t, w]) => Math.max(t.length, ...rows.map((r) => cell(r[k], w).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map(([, t]) => t)), ...rows.map((r) => line(columns.map(([k, , w]) => cell(r[k], w))))].join('\n');
}

/** One CSV field for output (RFC 4180): quoted when it holds a quote, comma or line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * A CSV field of free text for people to open in a spreadsheet: text starting with = + - @ (or a tab or CR)
 * is a formula there (`=HYPERLINK(…)` in a customer id), so it is prefixed with ' (OWASP's CSV injection
 * advice). A signed plain number (a customer id that is a phone number, +4915112345678) is no formula and is
 * left as it is, so a mailing tool reading the list gets the id unchanged.
 */
export function csvText(v: string): string {
  const formula = /^[=@\t\r]/.test(v) || (/^[+-]/.test(v) && !/^[+-][\d .()-]*$/.test(v));
  return csvField(formula ? `'${v}` : v);
}

/**
 * Text for a terminal: control characters other than line feeds and tabs shown as \xNN (a carriage return too: it
 * moves the cursor back over what a row showed), so an escape sequence in stored text (a customer id
 * "cust\x1b[2J\x1b]0;…\x07") cannot clear the screen, retitle the window or plant a link.
 * Output to a file or a pipe keeps the bytes as stored.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
