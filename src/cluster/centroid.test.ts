import { describe, expect, it } from 'vitest';
import { clusterSimilarity, EXAMPLE_CHARS, exampleText, offerExample, pruneTerms, topTermsInto, type ClusterState } from './centroid.js';
import { Mulberry32 } from './prng.js';
import { TermTable } from './termtable.js';

function cluster(seed: number, terms: number): ClusterState {
  const rng = new Mulberry32(seed);
  const table = new TermTable();
  let norm2 = 0;
  for (let i = 0; i < terms; i++) {
    const w = Math.floor(rng.next() * 20) / 4; // coarse weights: many ties
    table.add(Math.floor(rng.next() * 2 ** 20), w, 1 + Math.floor(rng.next() * 3));
  }
  table.forEach((_, w) => {
    norm2 += w * w;
  });
  return {
    id: `c_${seed}`, seq: seed, slot: 0, size: terms, norm2, terms: table, firstSeen: 0, lastSeen: 0, examples: [],
    exampleFloor: Infinity, indexed: [], nextRefresh: 2, dirty: false,
  };
}

const entries = (c: ClusterState): [number, number, number][] => {
  const out: [number, number, number][] = [];
  c.terms.forEach((t, w, n) => out.push([t, w, n]));
  return out;
};

describe('centroid term selection', () => {
  it('pruneTerms keeps the heaviest terms (ties: lower index), rebuilt in that order, with the exact norm', () => {
    const c = cluster(1, 400);
    const expected = entries(c).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 128);
    expect(pruneTerms(c, 128)).toBe(true);
    expect(entries(c)).toEqual(entries({ ...c, terms: TermTable.from(expected) }));
    let norm2 = 0;
    for (const [, w] of expected) norm2 += w * w;
    expect(c.norm2).toBe(norm2);
    expect(pruneTerms(c, 128)).toBe(false); // 128 terms: nothing to prune
  });

  it('topTermsInto gives the n heaviest unit-centroid weights, ties to the lower index', () => {
    const top = (c: ClusterState, n: number): [number, number][] => {
      const terms = new Int32Array(n);
      const weights = new Float64Array(n);
      const m = topTermsInto(c, n, terms, weights);
      return Array.from({ length: m }, (_, k) => [terms[k]!, weights[k]!]);
    };
    const c = cluster(2, 300);
    const inv = 1 / Math.sqrt(c.norm2);
    const expected = entries(c).map(([t, w]) => [t, w * inv] as [number, number]).sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 24);
    expect(top(c, 24)).toEqual(expected);
    expect(top(cluster(3, 5), 24)).toHaveLength(5);
  });

  it('clusterSimilarity is the cosine of the summed vectors and symmetric', () => {
    const a = cluster(4, 200);
    const b = cluster(4, 150); // same seed: a shares b's first 150 draws
    let dot = 0;
    b.terms.forEach((t, w) => {
      dot += w * a.terms.weight(t);
    });
    expect(clusterSimilarity(a, b)).toBe(dot / Math.sqrt(a.norm2 * b.norm2));
    expect(clusterSimilarity(b, a)).toBe(clusterSimilarity(a, b));
  });
});

describe('examples', () => {
  it('exampleText keeps a description up to EXAMPLE_CHARS and cuts a longer one on a character boundary, marked', () => {
    expect(exampleText('card declined')).toBe('card declined');
    const exact = 'x'.repeat(EXAMPLE_CHARS);
    expect(exampleText(exact)).toBe(exact);
    const cut = exampleText('y'.repeat(16_000));
    expect([cut.length, cut.endsWith('y…')]).toEqual([EXAMPLE_CHARS, true]);
    // An emoji (two UTF-16 units) astride the cut is dropped whole, not halved into an unpaired surrogate.
    const astride = exampleText(`${'z'.repeat(EXAMPLE_CHARS - 2)}😀${'z'.repeat(50)}`);
    expect(astride).toBe(`${'z'.repeat(EXAMPLE_CHARS - 2)}…`);
    expect(Buffer.from(astride, 'utf8').toString('utf8')).toBe(astride);
  });

  it('a cluster keeps long descriptions as cut examples, and one cut like another once', () => {
    const c = cluster(1, 4);
    const long = 'my card was declined at the shop again '.repeat(400);
    offerExample(c, { text: long, eventId: 'e1', sim: 0.9 }, 3);
    offerExample(c, { text: `${long} and once more`, eventId: 'e2', sim: 0.8 }, 3);
    offerExample(c, { text: 'short one', eventId: 'e3', sim: 0.7 }, 3);
    expect(c.examples.map((e) => [e.eventId, e.text.length])).toEqual([
      ['e1', EXAMPLE_CHARS],
      ['e3', 9],
    ]);
  });
});
