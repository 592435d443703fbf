import { describe, expect, it } from 'vitest';
import { batchLabelTerms } from './labels.js';

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
