// RFC 4180 CSV: quoted fields with "" escapes, delimiters and line breaks inside quotes, CRLF or LF
// records, a leading UTF-8 BOM. Any single-character delimiter (',' by default, '\t' for TSV).

export interface CsvOptions {
  delimiter?: string;
}

export class CsvError extends Error {
  constructor(message: string, readonly line: number) {
    super(`${message} (line ${line})`);
    this.name = 'CsvError';
  }
}

/** Parses CSV text into rows of fields. A trailing line break does not add an empty row. */
export function parseCsv(text: string, opts: CsvOptions = {}): string[][] {
  const delim = opts.delimiter ?? ',';
  if (delim.length !== 1 || delim === '"' || delim === '\n' || delim === '\r') {
    throw new RangeError(`delimiter must be one character other than a quote or line break, got ${JSON.stringify(delim)}`);
  }
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let line = 1;
  let i = 0;
  const n = s.length;
  let fieldStarted = false;
  while (i < n) {
    const ch = s[i]!;
    if (ch === '"' && field.length === 0 && !fieldStarted) {
      // Quoted field: read to the closing quote, "" is a literal quote.
      const start = line;
      i++;
      let buf = '';
      for (;;) {
        if (i >= n) throw new CsvError('unterminated quoted field', start);
        const c = s[i]!;
        if (c === '"') {
          if (s[i + 1] === '"') {
            buf += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n') line++;
        buf += c;
        i++;
      }
      field = buf;
      fieldStarted = true;
      if (i < n && s[i] !== delim && s[i] !== '\n' && s[i] !== '\r') throw new CsvError('unexpected character after closing quote', line);
      continue;
    }
    if (ch === delim) {
      row.push(field);
      field = '';
      fieldStarted = false;
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i += ch === '\r' && s[i + 1] === '\n' ? 2 : 1;
      line++;
      continue;
    }
    field += ch;
    fieldStarted = true;
    i++;
  }
  if (fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/**
 * Parses CSV with a header row into records keyed by column name. Blank lines are skipped (a trailing one, or
 * CRLF files' extra ones, were records of empty fields); a record with another number of fields than the header
 * is refused, naming it (an unquoted comma in a text shifted its label silently).
 */
export function parseCsvRecords(text: string, opts: CsvOptions = {}): { header: string[]; records: Record<string, string>[] } {
  const rows = parseCsv(text, opts);
  const header = rows[0] ?? [];
  const records: Record<string, string>[] = [];
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.length === 1 && r[0] === '' && header.length > 1) continue;
    if (r.length !== header.length) throw new RangeError(`record ${i} has ${r.length} fields, the header ${header.length} (an unquoted delimiter in a field?)`);
    records.push(Object.fromEntries(header.map((h, j) => [h, r[j]!])));
  }
  return { header, records };
}
