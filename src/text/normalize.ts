// Unicode clean-up before masking and tokenising: NFKC, invisible and control characters, whitespace.
// Pure and allocation-light: ASCII-only input (most events) skips NFKC and the invisible-character pass.

const NON_ASCII = /[^\x00-\x7f]/;

// Format characters that are invisible but split or disguise words (soft hyphen, zero-width space, word
// joiner, BOM, bidi marks and overrides — the "Trojan Source" set, the Arabic letter mark among them —,
// combining grapheme joiner, Mongolian vowel separator, tag characters). They are removed, not turned into
// spaces, because they sit inside words. ZWJ/ZWNJ (U+200C/D) and variation selectors stay where emoji
// sequences and Indic/Persian spelling need them (and after an emoji before a space, and in a keycap "1\ufe0f\u20e3"),
// but not beside a visible ASCII character, where they only hide an address or a number from the maskers
// ("john@exa\u200dmple.com", "4111\u200c1111…").
const INVISIBLE = /[\u00ad\u034f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|\udb40[\udc00-\udc7f]|(?<=[\x21-\x7e])[\u200c\u200d\ufe00-\ufe0f]+(?!\u20e3)|[\u200c\u200d\ufe00-\ufe0f]+(?=[\x21-\x7e])/g;

// A dash between digits (hyphen, non-breaking hyphen, figure dash, en and em dash, horizontal bar, minus) is
// written "-": Word and Outlook put them in phone and card numbers, and the maskers' separators are ASCII.
// Prose keeps its dashes.
const DASHES = /(?<=\d)[\u2010-\u2015\u2212](?=\d)/g;

// Horizontal space other than " ": whitespace and control characters outside the newline family. Controls
// (C0 except \n, DEL, C1) become spaces so that "a\u0000b" still reads as two words. \r is a control here,
// so CRLF ends up as a single \n once the newline pass below has run.
const H = String.raw`\x00-\x09\x0b-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000`;
// A run of two or more, or a single one that is not a plain space (a lone " " is left alone: no rewrite).
const HSPACE = new RegExp(`[ ${H}]{2,}|[${H}]`, 'g');
// After HSPACE, horizontal runs are single spaces: any run holding a line break becomes one \n.
const NEWLINE_RUN = / ?[\n\u2028\u2029][\n\u2028\u2029 ]*/g;
const HAS_NEWLINE = /[\n\u2028\u2029]/;

/**
 * NFKC, drop invisible format characters, turn controls into spaces, collapse whitespace runs (a run with
 * a line break becomes "\n", any other run one space) and trim. Case is kept: lowercasing is the
 * tokenizer's job, and the maskers rely on case (IBAN country codes are upper case).
 */
/**
 * The most a text may grow under NFKC. Ordinary text barely grows (a ligature ﬁ becomes two letters, ㍿ four);
 * one code point, U+FDFA, becomes 18 characters, so a 16,000-character description was stored as 528,000 and a
 * 1 MiB message as 10.7 MiB, past every size limit (checked on the text as sent), and a batch of them took
 * gigabytes.
 */
export const MAX_EXPANSION = 4;

/** A text that grows more than MAX_EXPANSION times under normalisation: its event is refused (dead-lettered). */
export class ExpansionError extends Error {
  constructor(
    readonly from: number,
    readonly to: number,
  ) {
    super(`a text grows from ${from} to ${to} characters under Unicode normalisation (NFKC), more than ${MAX_EXPANSION}x`);
    this.name = 'ExpansionError';
  }
}

export function normalizeText(s: string): string {
  if (isClean(s)) return s;
  let t = s;
  if (NON_ASCII.test(t)) {
    t = t.normalize('NFKC').replace(INVISIBLE, '');
    if (t.length > MAX_EXPANSION * s.length + 64) throw new ExpansionError(s.length, t.length);
    // Digits first: a dash between Arabic-Indic digits is one between digits too.
    if (OTHER_DIGIT.test(t)) t = t.replace(OTHER_DIGITS, asciiDigit);
    t = t.replace(DASHES, '-');
  }
  t = t.replace(HSPACE, ' ');
  if (HAS_NEWLINE.test(t)) t = t.replace(NEWLINE_RUN, '\n');
  return t.trim();
}

// Decimal digits of other scripts (Arabic-Indic ٠١٢, Persian ۰۱۲, Devanagari ०१२…), which NFKC keeps: the
// maskers' rules read ASCII digits, so a phone or card number written in them was stored as it came.
// One character class (a digit that is not ASCII): a lookahead before \p{Nd} tripled normalizeText's time on
// every non-ASCII text, digits or not.
const OTHER_DIGIT = /[^\P{Nd}0-9]/u;
const OTHER_DIGITS = /[^\P{Nd}0-9]/gu;
const IS_DIGIT = /^\p{Nd}$/u;
const digitValues = new Map<string, string>();

/**
 * A decimal digit's ASCII digit. Unicode puts every script's digits 0–9 in a run of ten code points (runs
 * of several scripts can adjoin, always in tens: checked over all of Unicode), so its value is its distance
 * from the run's start, modulo 10.
 */
function asciiDigit(d: string): string {
  let v = digitValues.get(d);
  if (v === undefined) {
    const cp = d.codePointAt(0)!;
    let start = cp;
    while (IS_DIGIT.test(String.fromCodePoint(start - 1))) start--;
    v = String((cp - start) % 10);
    digitValues.set(d, v);
  }
  return v;
}

/** normalizeText on one line: text a person typed that is printed inline (a status note), no break or control in it. */
export function oneLine(s: string): string {
  try {
    return normalizeText(s).replace(/\n/g, ' ');
  } catch (err) {
    // Printed, not stored as an event: text that grows past bounds under NFKC is shown without it, controls out.
    if (!(err instanceof ExpansionError)) throw err;
    return s.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, ' ').trim();
  }
}

// A character outside printable ASCII, or two spaces in a row.
const UNCLEAN = /[^ -~]| {2}/;

/**
 * Printable ASCII with single inner spaces only: nothing above would change it. One scan instead of three
 * regular-expression passes and a trim, for the common case; the scan is one native regular-expression
 * search (measured faster than a charCodeAt loop, which also pays for each string representation).
 */
function isClean(s: string): boolean {
  const n = s.length;
  if (n === 0 || s.charCodeAt(0) === 32 || s.charCodeAt(n - 1) === 32) return n === 0;
  return !UNCLEAN.test(s);
}

/**
 * The longest prefix of `s` whose UTF-8 encoding fits in `maxBytes`, cut on a code point boundary (a
 * surrogate pair is never split). Lone surrogates count 3 bytes, as TextEncoder writes U+FFFD for them.
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (!Number.isInteger(maxBytes) || maxBytes < 0) {
    throw new RangeError(`truncateUtf8: maxBytes must be a non-negative integer, got ${maxBytes}`);
  }
  // Each UTF-16 unit is at most 3 UTF-8 bytes (a pair is 4 bytes for 2 units): most calls stop here.
  if (s.length * 3 <= maxBytes) return s;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let size = 1;
    let units = 1;
    if (c >= 0x800) {
      size = 3;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          size = 4;
          units = 2;
        }
      }
    } else if (c >= 0x80) {
      size = 2;
    }
    if (bytes + size > maxBytes) return s.slice(0, i);
    bytes += size;
    i += units - 1;
  }
  return s;
}
