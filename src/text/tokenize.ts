import { createRequire } from 'node:module';
import { ENGLISH_STOP_WORDS, NEGATIONS } from './stopwords.js';

// natural's package index loads database drivers and prints banners; its Porter stemmer module alone is
// cheap. There are no type declarations for the deep path, hence require + a narrow type.
const require = createRequire(import.meta.url);
const porter = require('natural/lib/natural/stemmers/porter_stemmer') as { stem(word: string): string };

export interface TokenizeOptions {
  /** Add adjacent-pair tokens ("card arriv") after stop-word removal. Default false. */
  bigrams?: boolean;
  /** Porter-stem words. Default true. */
  stem?: boolean;
  /** Stop words (lower case, unstemmed). Default ENGLISH_STOP_WORDS; negations are always kept. */
  stopWords?: ReadonlySet<string>;
  /** Keep tokens made only of digits (amounts, dates). Default false; "4g" style tokens are always kept. */
  keepNumbers?: boolean;
  /** Shortest word kept. Default 2. Placeholders such as <CARD> are always kept. */
  minLength?: number;
  /** Entries in the word → stem cache before the oldest are dropped. Default 50,000. */
  stemCacheSize?: number;
}

// Tokens are mask placeholders (<CARD>, <ORDER_ID>) or runs of letters/digits with optional apostrophe
// parts, exactly as /<[A-Z][A-Z0-9_]*>|[\p{L}\p{N}]+(?:['’]\p{L}+)*/u finds them (a test checks); a hand-written scanner with
// an ASCII fast path does the same without a match object per word.
const WORD_CHAR_RE = /^[\p{L}\p{N}]/u;
const LETTER_RE = /^\p{L}/u;

/** UTF-16 length of the letter/digit starting at i (0 when it is neither). */
function wordCharLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ? 1 : 0;
  const cp = s.codePointAt(i)!;
  const len = cp > 0xffff ? 2 : 1;
  return WORD_CHAR_RE.test(s.slice(i, i + len)) ? len : 0;
}

/** UTF-16 length of the letter starting at i (0 when it is not a letter). */
function letterLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ? 1 : 0;
  const len = s.codePointAt(i)! > 0xffff ? 2 : 1;
  return LETTER_RE.test(s.slice(i, i + len)) ? len : 0;
}

/** End index (exclusive) of a placeholder <[A-Z][A-Z0-9_]*> starting at i, or 0. */
function placeholderEnd(s: string, i: number): number {
  let j = i + 1;
  const first = s.charCodeAt(j);
  if (!(first >= 65 && first <= 90)) return 0;
  for (j++; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 62) return j + 1;
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) return 0;
  }
  return 0;
}
const DIGITS_RE = /^\p{N}+$/u;
const APOSTROPHE_RE = /['’]/;
const BARE_NEGATIONS = new Set([
  'dont', 'doesnt', 'didnt', 'isnt', 'wasnt', 'werent', 'arent', 'cant', 'couldnt', 'wont', 'wouldnt',
  'shouldnt', 'havent', 'hasnt', 'hadnt', 'aint', 'mustnt', 'neednt',
]);

/** Lower-cases, splits into words, drops stop words, stems (cached) and optionally adds bigrams. */
export class Tokenizer {
  private readonly bigrams: boolean;
  private readonly stem: boolean;
  private readonly stopWords: ReadonlySet<string>;
  private readonly keepNumbers: boolean;
  private readonly minLength: number;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, string>();
  /** Stem → the shortest word seen for it ("declin" → "decline"), for readable labels. Bounded. */
  private readonly surfaces = new Map<string, string>();

  constructor(opts: TokenizeOptions = {}) {
    this.bigrams = opts.bigrams ?? false;
    this.stem = opts.stem ?? true;
    this.stopWords = opts.stopWords ?? ENGLISH_STOP_WORDS;
    this.keepNumbers = opts.keepNumbers ?? false;
    this.minLength = opts.minLength ?? 2;
    this.cacheSize = Math.max(1, opts.stemCacheSize ?? 50_000);
  }

  /** Number of cached words (never above stemCacheSize). */
  get cachedStems(): number {
    return this.cache.size;
  }

  tokenize(text: string): string[] {
    const words: string[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 60 /* < */) {
        const end = placeholderEnd(text, i);
        if (end > 0) {
          words.push(text.slice(i, end));
          i = end;
          continue;
        }
        i++;
        continue;
      }
      const w = wordCharLength(text, i);
      if (w === 0) {
        i++;
        continue;
      }
      // A word: letters/digits, optionally continued by an apostrophe and letters ("don't", "o’clock").
      const start = i;
      i += w;
      let afterApostrophe = false;
      while (i < n) {
        const c = text.charCodeAt(i);
        const len = afterApostrophe ? letterLength(text, i) : wordCharLength(text, i);
        if (len > 0) {
          i += len;
          continue;
        }
        if ((c === 39 || c === 0x2019) && i + 1 < n && letterLength(text, i + 1) > 0) {
          afterApostrophe = true;
          i++;
          continue;
        }
        break;
      }
      const raw = text.slice(start, i);
      // One bounded cache from the raw word to its final token ('' = dropped): most words repeat.
      let word = this.cache.get(raw);
      if (word === undefined) {
        const lower = raw.toLowerCase();
        word = this.word(lower) ?? '';
        this.remember(raw, word);
        if (word.length > 0) this.noteSurface(word, lower);
      }
      if (word.length > 0) words.push(word);
    }
    if (!this.bigrams || words.length < 2) return words;
    const m = words.length;
    for (let k = 0; k + 1 < m; k++) words.push(words[k] + ' ' + words[k + 1]);
    return words;
  }

  private word(lower: string): string | null {
    let w = lower;
    if (APOSTROPHE_RE.test(w)) {
      if (w.endsWith("n't") || w.endsWith('n’t')) return 'not';
      w = w.split(APOSTROPHE_RE)[0] ?? '';
    }
    if (BARE_NEGATIONS.has(w)) return 'not';
    if (w.length < this.minLength && !NEGATIONS.has(w)) return null;
    if (this.stopWords.has(w) && !NEGATIONS.has(w)) return null;
    if (!this.keepNumbers && DIGITS_RE.test(w)) return null;
    return this.stem ? porter.stem(w) : w;
  }

  /** A term (stem, or two stems joined by a space) in words people read: "card arriv" → "card arrive". */
  readable(term: string): string {
    return term
      .split(' ')
      .map((t) => this.surfaces.get(t) ?? t)
      .join(' ');
  }

  private noteSurface(stem: string, lower: string): void {
    const seen = this.surfaces.get(stem);
    if (seen !== undefined && seen.length <= lower.length) return;
    if (seen === undefined && this.surfaces.size >= this.cacheSize) {
      const oldest = this.surfaces.keys().next().value;
      if (oldest !== undefined) this.surfaces.delete(oldest);
    }
    this.surfaces.set(stem, lower);
  }

  private remember(raw: string, token: string): void {
    if (this.cache.size >= this.cacheSize) {
      // Drop the oldest entry (Map keeps insertion order): bounded memory, deterministic.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(raw, token);
  }
}

let shared: Tokenizer | undefined;

/** Tokenizes with default options (shared tokenizer and stem cache). */
export function tokenize(text: string, opts?: TokenizeOptions): string[] {
  if (opts !== undefined) return new Tokenizer(opts).tokenize(text);
  shared ??= new Tokenizer();
  return shared.tokenize(text);
}
