import { createRequire } from 'node:module';
import { ENGLISH_STOP_WORDS, NEGATIONS } from './stopwords.js';
import { detached, hashPair, hashTerm } from './vectorize.js';

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
// parts, exactly as /<[A-Z][A-Z0-9_]*>|[\p{L}\p{N}\p{M}]+(?:['’]\p{L}[\p{L}\p{M}]*)*/u finds them (a test checks); a
// hand-written scanner with an ASCII fast path does the same without a match object per word. Combining marks
// are part of a word: Devanagari, Bengali, Tamil and Thai write vowels with them, Hebrew and Arabic their points.
const WORD_CHAR_RE = /^[\p{L}\p{N}\p{M}]/u;
const LETTER_RE = /^\p{L}/u;
const LETTER_OR_MARK_RE = /^[\p{L}\p{M}]/u;

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

/** UTF-16 length of the letter or combining mark starting at i (0 when it is neither). */
function letterOrMarkLength(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) ? 1 : 0;
  const len = s.codePointAt(i)! > 0xffff ? 2 : 1;
  return LETTER_OR_MARK_RE.test(s.slice(i, i + len)) ? len : 0;
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

/** A longer word's term is its first MAX_WORD_CHARS characters, unstemmed (see tokenize). */
export const MAX_WORD_CHARS = 64;
const FRONT_SIZE = 16384; // entries of the front cache, a power of two
const PAIR_SIZE = 16384; // entries of the bigram cache, a power of two

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Front-cache slot of text[start, end): FNV-1a over the UTF-16 code units. */
function frontSlot(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return (h ^ (h >>> 15)) & (FRONT_SIZE - 1);
}

/** Whether `word` equals text[start, end). */
function sameAt(word: string, text: string, start: number, end: number): boolean {
  if (word.length !== end - start) return false;
  for (let i = 0; i < word.length; i++) if (word.charCodeAt(i) !== text.charCodeAt(start + i)) return false;
  return true;
}
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
  // A small direct-mapped cache in front of `cache`, indexed by a hash of the word's code units computed
  // from the text itself: a hit costs no substring and no Map lookup (slicing and looking up every word
  // was the tokenizer's largest cost, measured with --cpu-prof). It only holds words that are in `cache`
  // (an evicted word is cleared here too), so hits, misses and therefore the labels are exactly as before.
  // [raw, token] at 2·slot, side by side so a lookup touches one cache line; '' = empty (no word is '').
  private readonly front: string[] = new Array<string>(2 * FRONT_SIZE).fill('');
  /** hashTerm of the token at each front slot, so the vectorizer need not hash it again. */
  private readonly frontHash = new Int32Array(FRONT_SIZE);
  // Bigram strings, direct-mapped by the two words' front slots and checked against both tokens: a repeated
  // pair reuses one string and its hash instead of concatenating a new one per event.
  // [left, right, "left right"] at 3·slot, hashTerm("left right") at pairHash[slot].
  private readonly pairs: string[] = new Array<string>(3 * PAIR_SIZE).fill('');
  private readonly pairHash = new Int32Array(PAIR_SIZE);
  // Per-call scratch: the words found so far, their front slots and their hashes.
  private words: string[] = [];
  private keys = new Int32Array(64);
  private hashes = new Int32Array(64);

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

  /**
   * The tokens of `text`: words in order, then (with bigrams) each adjacent pair. When `hashes` is given,
   * its first tokens.length entries are set to hashTerm of each token (taken from the caches, not
   * recomputed), for the vectorizer; entries after those are left as they were (no truncation per call).
   */
  tokenize(text: string, hashes?: number[]): string[] {
    const words = this.words;
    let count = 0;
    const n = text.length;
    if (this.keys.length < n + 1) {
      this.keys = new Int32Array(2 * n + 2);
      this.hashes = new Int32Array(2 * n + 2);
    }
    const keys = this.keys;
    const hs = this.hashes;
    let i = 0;
    while (i < n) {
      const ch = text.charCodeAt(i);
      if (ch === 60 /* < */) {
        const end = placeholderEnd(text, i);
        if (end > 0) {
          keys[count] = frontSlot(text, i, end);
          hs[count] = hashTerm((words[count] = text.slice(i, end)));
          count++;
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
      // The front-cache hash (frontSlot's) is folded in while scanning: one pass over the word, not two.
      const start = i;
      let h = FNV_OFFSET;
      for (const end = i + w; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
      let afterApostrophe = false;
      while (i < n) {
        const c = text.charCodeAt(i);
        // ASCII letters (c | 32 folds upper case onto lower) and digits inline: the common case.
        if (c < 128 && (((c | 32) >= 97 && (c | 32) <= 122) || (!afterApostrophe && c >= 48 && c <= 57))) {
          h = Math.imul(h ^ c, FNV_PRIME);
          i++;
          continue;
        }
        const len = afterApostrophe ? letterOrMarkLength(text, i) : wordCharLength(text, i);
        if (len > 0) {
          for (const end = i + len; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
          continue;
        }
        if ((c === 39 || c === 0x2019) && i + 1 < n && letterLength(text, i + 1) > 0) {
          afterApostrophe = true;
          h = Math.imul(h ^ c, FNV_PRIME);
          i++;
          continue;
        }
        break;
      }
      const slot = (h ^ (h >>> 15)) & (FRONT_SIZE - 1);
      if (i - start > MAX_WORD_CHARS) {
        // A hash, base64, a key held down, or a run of a script written without spaces: its first
        // MAX_WORD_CHARS characters, lower-cased, are its term. Not stemmed (Porter's time is quadratic in a
        // word's length: 1.2 s for 16,000 consonants) and not cached (each would hold the whole word).
        const long = detached(text.slice(start, start + MAX_WORD_CHARS).toLowerCase());
        keys[count] = slot;
        hs[count] = hashTerm(long);
        words[count++] = long;
        continue;
      }
      let word: string;
      if (sameAt(this.front[2 * slot]!, text, start, i)) word = this.front[2 * slot + 1]!;
      else {
        // Kept in the caches below: a copy, not a view of the description.
        const raw = detached(text.slice(start, i));
        // One bounded cache from the raw word to its final token ('' = dropped): most words repeat.
        let cached = this.cache.get(raw);
        if (cached === undefined) {
          const lower = raw.toLowerCase();
          cached = this.word(lower) ?? '';
          this.remember(raw, cached);
          if (cached.length > 0) this.noteSurface(cached, lower);
        }
        word = cached;
        this.front[2 * slot] = raw;
        this.front[2 * slot + 1] = word;
        this.frontHash[slot] = word.length > 0 ? hashTerm(word) : 0;
      }
      if (word.length > 0) {
        keys[count] = slot;
        hs[count] = this.frontHash[slot]!;
        words[count++] = word;
      }
    }
    const pairs = this.bigrams && count >= 2 ? count - 1 : 0;
    const out = new Array<string>(count + pairs);
    for (let k = 0; k < count; k++) out[k] = words[k]!;
    if (hashes !== undefined) for (let k = 0; k < count; k++) hashes[k] = hs[k]!;
    for (let k = 0; k < pairs; k++) {
      const p = this.pair(words[k]!, words[k + 1]!, keys[k]!, keys[k + 1]!, hs[k]!);
      out[count + k] = this.pairs[3 * p + 2]!;
      if (hashes !== undefined) hashes[count + k] = this.pairHash[p]!;
    }
    return out;
  }

  /** Bigram-cache slot holding "a b" and its hash (filled now unless the same pair was seen recently). */
  private pair(a: string, b: string, ka: number, kb: number, hashA: number): number {
    const p = (Math.imul(ka, 0x9e3779b1) ^ kb) & (PAIR_SIZE - 1);
    const pairs = this.pairs;
    if (pairs[3 * p] === a && pairs[3 * p + 1] === b) return p;
    pairs[3 * p] = a;
    pairs[3 * p + 1] = b;
    pairs[3 * p + 2] = a + ' ' + b;
    this.pairHash[p] = hashPair(hashA, b);
    return p;
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

  /** The words known for the stems in `terms` (stems, or two joined by a space): what a checkpoint keeps for labels. */
  surfacesOf(terms: Iterable<string>): [string, string][] {
    const out = new Map<string, string>();
    for (const term of terms) {
      for (const stem of term.split(' ')) {
        const word = this.surfaces.get(stem);
        if (word !== undefined) out.set(stem, word);
      }
    }
    return [...out];
  }

  /** Words for stems from a checkpoint; a word seen since keeps its place only if it is shorter. */
  restoreSurfaces(pairs: readonly [string, string][]): void {
    for (const [stem, word] of pairs) this.noteSurface(stem, word);
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
      if (oldest !== undefined) {
        this.cache.delete(oldest);
        const slot = frontSlot(oldest, 0, oldest.length);
        if (this.front[2 * slot] === oldest) this.front[2 * slot] = '';
      }
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
