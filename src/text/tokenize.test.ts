import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MAX_WORD_CHARS, tokenize, Tokenizer } from './tokenize.js';
import { HashingVectorizer, hashTerm } from './vectorize.js';

describe('tokenize', () => {
  it('lower-cases, drops stop words and stems', () => {
    expect(tokenize("I still haven't received my new card, I ordered over a week ago.")).toEqual([
      'still', 'not', 'receiv', 'new', 'card', 'order', 'week', 'ago',
    ]);
  });

  it('keeps letter-digit words and mask placeholders, drops bare numbers', () => {
    expect(tokenize('My 4G top-up on <CARD> failed twice, ref <ORDER_ID>, 12 45')).toEqual([
      '4g', 'top', '<CARD>', 'fail', 'twice', 'ref', '<ORDER_ID>',
    ]);
    expect(new Tokenizer({ keepNumbers: true }).tokenize('paid 45 twice')).toEqual(['paid', '45', 'twice']);
  });

  it('turns negative contractions into "not" and keeps negations', () => {
    expect(tokenize("Can't log in, app doesnt work and no code")).toEqual(['not', 'log', 'app', 'not', 'work', 'no', 'code']);
  });

  it('adds adjacent bigrams after stop-word removal', () => {
    expect(new Tokenizer({ bigrams: true }).tokenize('card not arrived')).toEqual(['card', 'not', 'arriv', 'card not', 'not arriv']);
  });

  it('cuts a word longer than MAX_WORD_CHARS to that length, unstemmed and uncached', () => {
    const t = new Tokenizer();
    const garbage = 'x'.repeat(16_000);
    expect(t.tokenize(`refund ${garbage} card`)).toEqual(['refund', 'x'.repeat(MAX_WORD_CHARS), 'card']);
    expect(t.cachedStems).toBe(2);
    const hashes: number[] = [];
    const tokens = t.tokenize(`Refund ${'Q'.repeat(70)}`, hashes);
    expect(tokens).toEqual(['refund', 'q'.repeat(MAX_WORD_CHARS)]);
    expect(hashes.slice(0, 2)).toEqual(tokens.map((x) => hashTerm(x) | 0));
  });

  it('handles accents and other scripts as words', () => {
    expect(new Tokenizer({ stem: false }).tokenize('Café crème déjà ΔΕΗ')).toEqual(['café', 'crème', 'déjà', 'δεη']);
    // Vowel signs and points are combining marks: a word goes on through them.
    expect(new Tokenizer({ stem: false }).tokenize('मेरा कार्ड काम नहीं कर रहा है')).toEqual(['मेरा', 'कार्ड', 'काम', 'नहीं', 'कर', 'रहा', 'है']);
    expect(new Tokenizer({ stem: false }).tokenize('บัตรของฉัน שָׁלוֹם')).toEqual(['บัตรของฉัน', 'שָׁלוֹם']);
  });

  it('keeps no description alive through the words its caches keep (a rare long word is cached at first sight)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const tok = new Tokenizer({ bigrams: true });
    const vec = new HashingVectorizer();
    const filler = ' the card payment was declined again'.repeat(400); // ~14 KB
    const rare = (i: number) => `zq${i.toString(36).padStart(6, 'w')}${'abcdefgh'[i % 8]!.repeat(8)}x`; // 17 letters, seen once
    const hashes: number[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    const n = 500;
    for (let i = 0; i < n; i++) {
      const text = `x${i}${filler} ${rare(i)} ${'k'.repeat(70)}${i}`;
      vec.update(tok.tokenize(text, hashes), hashes);
    }
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    // The descriptions came to 7 MB; the words themselves to well under 1 MB.
    expect(retained).toBeLessThan((n * filler.length) / 4);
  }, 30_000);

  it('keeps the stem cache bounded', () => {
    const t = new Tokenizer({ stemCacheSize: 100 });
    for (let i = 0; i < 1000; i++) t.tokenize(`word${i.toString(36)}x running`);
    expect(t.cachedStems).toBeLessThanOrEqual(100);
    expect(t.tokenize('running')).toEqual(['run']);
  });

  it('gives the same tokens with its caches warm, cold or thrashing', () => {
    const texts = [
      "My card hasn't arrived, the CARD app says card arriving", 'Card arriving late; card arrived', '<CARD> card <CARD> card',
      'Ünïcode wörds and Wörds', 'top-up top up topping', ...Array.from({ length: 300 }, (_, i) => `card w${i} arriving w${i % 7}`),
    ];
    const reference = texts.map((t) => new Tokenizer({ bigrams: true }).tokenize(t)); // a fresh tokenizer per text
    const warm = new Tokenizer({ bigrams: true });
    const tiny = new Tokenizer({ bigrams: true, stemCacheSize: 3 }); // evicts all the time
    for (let round = 0; round < 3; round++) {
      expect(texts.map((t) => warm.tokenize(t))).toEqual(reference);
      expect(texts.map((t) => tiny.tokenize(t))).toEqual(reference);
    }
    expect(tiny.cachedStems).toBeLessThanOrEqual(3);
    const [a, b] = [warm.tokenize('card arriving'), warm.tokenize('card arriving')];
    expect(a).not.toBe(b); // a fresh array per call: callers may keep it
    expect(a).toEqual(['card', 'arriv', 'card arriv']);
  });

  it('hands out hashTerm of every token, with its caches warm, cold or thrashing', () => {
    const texts = [
      "My card hasn't arrived, the CARD app says card arriving", '<CARD> card <CARD> card', 'Ünïcode wörds 😀x and Wörds',
      'one', '', ...Array.from({ length: 300 }, (_, i) => `card w${i} arriving w${i % 7}`),
    ];
    for (const t of [new Tokenizer({ bigrams: true }), new Tokenizer({ bigrams: true, stemCacheSize: 3 }), new Tokenizer()]) {
      for (let round = 0; round < 2; round++) {
        for (const text of texts) {
          const hashes = [1, 2, 3]; // stale contents are overwritten; entries past the tokens are not read
          const tokens = t.tokenize(text, hashes);
          expect(hashes.slice(0, tokens.length).map((h) => h >>> 0)).toEqual(tokens.map(hashTerm));
        }
      }
    }
  });

  it('scans exactly like the reference regular expression', () => {
    const re = /<[A-Z][A-Z0-9_]*>|[\p{L}\p{N}\p{M}]+(?:['’]\p{L}[\p{L}\p{M}]*)*/gu;
    const plain = new Tokenizer({ stem: false, stopWords: new Set(), minLength: 1, keepNumbers: true });
    const reference = (text: string): string[] =>
      [...text.matchAll(re)].map((m) => {
        const raw = m[0];
        if (raw.startsWith('<')) return raw;
        const w = raw.toLowerCase();
        if (/n['’]t$/.test(w)) return 'not';
        return w.split(/['’]/)[0]!;
      }).map((w) => (['dont', 'cant', 'wont', 'isnt'].includes(w) ? 'not' : w));
    const alphabet = ['a', 'B', 'z', '4', "'", '’', '<', '>', 'C', 'D_', ' ', ',', 'é', 'ß', '日', '𝐀', '-', 'x9', 'n\'t', 'क', '\u093e', '\u0947', 'ש', '\u05b8'];
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 2000; trial++) {
      let text = '';
      const len = Math.floor(rand() * 16);
      for (let k = 0; k < len; k++) text += alphabet[Math.floor(rand() * alphabet.length)];
      expect({ text, tokens: plain.tokenize(text) }).toEqual({ text, tokens: reference(text) });
    }
    expect(plain.tokenize('<CARD <card> <ORDER_ID>.')).toEqual(['card', 'card', '<ORDER_ID>']);
  });

  it('turns stems back into the shortest word seen for them, for labels', () => {
    const t = new Tokenizer({ bigrams: true });
    t.tokenize('My card payment was declined; declining cards again, then it declines');
    expect(t.readable('declin')).toBe('declined'); // ties keep the first seen
    t.tokenize('please decline it');
    expect(t.readable('declin')).toBe('decline');
    expect(t.readable('card declin')).toBe('card decline');
    expect(t.readable('unseen')).toBe('unseen');
  });
});
