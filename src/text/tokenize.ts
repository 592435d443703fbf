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

// A mask placeholder (<CARD>, <ORDER_ID>) or a run of letters/digits with optional apostrophe parts.
const TOKEN_RE = /<[A-Z][A-Z0-9_]*>|[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
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
    TOKEN_RE.lastIndex = 0;
    for (let m = TOKEN_RE.exec(text); m !== null; m = TOKEN_RE.exec(text)) {
      const raw = m[0];
      if (raw.charCodeAt(0) === 60 /* < */) {
        words.push(raw);
        continue;
      }
      // One bounded cache from the raw match to its final token ('' = dropped): most words repeat.
      let word = this.cache.get(raw);
      if (word === undefined) {
        word = this.word(raw.toLowerCase()) ?? '';
        this.remember(raw, word);
      }
      if (word.length > 0) words.push(word);
    }
    if (!this.bigrams || words.length < 2) return words;
    const n = words.length;
    for (let i = 0; i + 1 < n; i++) words.push(words[i] + ' ' + words[i + 1]);
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
