import { describe, expect, it } from 'vitest';
import { batchLabelTerms, labelOf } from './labels.js';
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

  it('leaves placeholders and pairs holding one out of live labels (they were "back <PHONE> / mail / call"), not out of top terms', () => {
    expect(raw[0]).toContain('<PHONE>');
    const c = new OnlineClusterer({});
    raw.forEach((text, i) => {
      const hashes: number[] = [];
      const tokens = tok.tokenize(text, hashes);
      c.assign({ eventId: `e${i}`, tokens, hashes, time: i, text });
    });
    const callback = c.clusters().find((s) => s.examples.some((e) => e.includes('call me back')))!;
    expect(callback.label.split(' / ')).toHaveLength(3);
    expect(callback.label).not.toMatch(/<[A-Z]+>/);
    // Owner rules match top terms too: a rule on the phone placeholder still routes the cluster.
    expect(callback.topTerms).toContain('<PHONE>');
  });

  it('and out of re-fitted ones; a group of placeholders alone keeps them', () => {
    const docs = raw.map((text) => tok.tokenize(text));
    const terms = batchLabelTerms(docs, raw.map((_, i) => (i < 30 ? 'callback' : 'crash')));
    expect(terms.get('callback')!.some((t) => t.includes('<PHONE>'))).toBe(true);
    expect(labelOf(terms.get('callback')!)).not.toMatch(/<[A-Z]+>/);
    expect(labelOf(terms.get('callback')!).split(' / ')).toHaveLength(3);
    expect(labelOf(['<PHONE>', '<EMAIL>'])).toBe('<PHONE> / <EMAIL>');
  });
});
