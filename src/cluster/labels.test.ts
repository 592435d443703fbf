import { describe, expect, it } from 'vitest';
import { batchLabelTerms } from './labels.js';
import { OnlineClusterer } from './online.js';
import { Tokenizer } from '../text/tokenize.js';
import { maskPii } from '../text/mask.js';

describe('batchLabelTerms (class-based TF-IDF over grouped documents)', () => {
  it("ranks a group's own terms above the ones every group shares", () => {
    const docs = [
      ['card', 'declin', 'card declin', 'help'],
      ['card', 'declin', 'help'],
      ['transfer', 'pend', 'transfer pend', 'help'],
      ['transfer', 'pend', 'help'],
    ];
    const terms = batchLabelTerms(docs, ['a', 'a', 'b', 'b'], 3);
    expect(terms.get('a')).toEqual(['card', 'declin', 'card declin']);
    expect(terms.get('b')).toEqual(['transfer', 'pend', 'transfer pend']);
  });

  it('counts a term once per document and breaks ties by first appearance', () => {
    const terms = batchLabelTerms([['x', 'x', 'x', 'y'], ['y', 'x']], ['g', 'g'], 2);
    expect(terms.get('g')).toEqual(['x', 'y']);
  });
});

describe('labels name the problem, not the masking', () => {
  // Callback requests with a phone number and an address in each: masked, then tokenised as the pipeline does.
  const raw = [
    ...Array.from({ length: 30 }, (_, i) => `Please call me back on 07700 900${String(100 + i)} or mail jane${i}@example.com about my refund`),
    ...Array.from({ length: 30 }, (_, i) => `The app crashes when I open settings on my phone ${i % 2 ? 'again' : 'today'}`),
  ].map((t) => maskPii(t).text);
  const tok = new Tokenizer({ bigrams: true });

  it('leaves placeholders and pairs holding one out of live labels (they were "back <PHONE> / mail / call")', () => {
    expect(raw[0]).toContain('<PHONE>');
    const c = new OnlineClusterer({});
    raw.forEach((text, i) => {
      const hashes: number[] = [];
      const tokens = tok.tokenize(text, hashes);
      c.assign({ eventId: `e${i}`, tokens, hashes, time: i, text });
    });
    const callback = c.clusters().find((s) => s.examples.some((e) => e.includes('call me back')))!;
    expect(callback.topTerms.length).toBeGreaterThan(3);
    for (const t of callback.topTerms) expect(t).not.toMatch(/<[A-Z]+>/);
    expect(callback.label).not.toMatch(/<[A-Z]+>/);
  });

  it('and out of re-fitted ones; a group of placeholders alone keeps them', () => {
    const docs = raw.map((text) => tok.tokenize(text));
    const terms = batchLabelTerms(docs, raw.map((_, i) => (i < 30 ? 'callback' : 'crash')));
    expect(terms.get('callback')!.length).toBeGreaterThan(3);
    for (const t of terms.get('callback')!) expect(t).not.toMatch(/<[A-Z]+>/);
    expect(terms.get('callback')).toContain('refund');
    expect(batchLabelTerms([['<PHONE>'], ['<PHONE>', '<EMAIL>']], ['g', 'g']).get('g')).toEqual(['<PHONE>', '<EMAIL>']);
  });
});
