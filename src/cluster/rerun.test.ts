import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../text/tokenize.js';
import { planRerun, type RerunDoc } from './rerun.js';

const tok = new Tokenizer();
const TOPICS = [
  ['card declined at the shop', 'my card payment was declined', 'declined card payment in store', 'why is my card declined'],
  ['transfer still pending', 'pending bank transfer for days', 'my transfer is pending', 'transfer pending since monday'],
  ['how to change my pin', 'change pin code', 'i want to change the pin', 'where do i change my pin'],
];

function docs(current: (topic: number, i: number) => string): RerunDoc[] {
  const out: RerunDoc[] = [];
  for (let r = 0; r < 10; r++) {
    TOPICS.forEach((texts, t) => texts.forEach((text, i) => out.push({ eventId: `${t}-${i}-${r}`, current: current(t, i), tokens: tok.tokenize(text) })));
  }
  return out;
}

describe('planRerun', () => {
  it('keeps the ids of clusters it finds again', () => {
    const plan = planRerun(docs((t) => `c_${t}`), { k: 3, idPrefix: 'c_v2_' });
    expect(new Set(plan.assignments)).toEqual(new Set(['c_0', 'c_1', 'c_2']));
    expect(plan.moved).toBe(0);
  });

  it('records a merge when two current clusters become one topic, and moves their events', () => {
    // Topic 0 was split over two online clusters; the re-fit puts it back together.
    const plan = planRerun(docs((t, i) => (t === 0 ? `c_0${i % 2}` : `c_${t}`)), { k: 3, idPrefix: 'c_v2_' });
    expect(plan.lineage.some((l) => l.kind === 'merge' && l.from.length === 2)).toBe(true);
    expect(plan.before).toBe(4);
    expect(plan.clusters).toHaveLength(3);
    expect(plan.moved).toBeGreaterThan(0);
  });

  it('labels re-fitted clusters from their label tokens, pairs included, as the live clusterer does', () => {
    const pairs = new Tokenizer({ bigrams: true });
    const withLabels = docs((t) => `c_${t}`).map((d, i) => ({ ...d, labelTokens: pairs.tokenize(TOPICS[Math.floor(i / 4) % 3]![i % 4]!) }));
    const plan = planRerun(withLabels, { k: 3, idPrefix: 'c_v2_' });
    const terms = new Map(plan.clusters.map((c) => [c.id, c.topTerms]));
    expect(terms.get('c_0')!.slice(0, 3)).toEqual(['card', 'declin', 'card declin']);
    expect(terms.get('c_1')!.slice(0, 2)).toEqual(['transfer', 'pend']);
    expect(terms.get('c_1')).toContain('transfer pend');
    // Without them, a cluster is described by its strongest centroid terms, single words only.
    expect(planRerun(docs((t) => `c_${t}`), { k: 3, idPrefix: 'c_v2_' }).clusters.flatMap((c) => c.topTerms).some((t) => t.includes(' '))).toBe(false);
  });

  it('makes no empty cluster when k exceeds the distinct texts: every cluster it returns has members and an assignment', () => {
    // Ten events with two distinct descriptions, k = 4: k-means leaves two clusters empty.
    const few = Array.from({ length: 10 }, (_, i) => ({ eventId: `e${i}`, current: '', tokens: tok.tokenize(i % 2 ? 'card declined at the shop' : 'transfer still pending') }));
    const plan = planRerun(few, { k: 4, idPrefix: 'c_v2_' });
    expect(plan.clusters.every((c) => c.size > 0)).toBe(true);
    expect(new Set(plan.clusters.map((c) => c.id))).toEqual(new Set(plan.assignments));
    expect(plan.lineage.flatMap((l) => l.to).every((id) => plan.assignments.includes(id))).toBe(true);
    expect(plan.k).toBe(plan.clusters.length);
  });

  it('leaves descriptions without terms unassigned, as the live model does, in any cluster count and with embeddings', () => {
    const termless = ['and the', '👍', '!!! ???'].map((text, i) => ({ eventId: `empty-${i}`, current: '', tokens: tok.tokenize(text) }));
    expect(termless.map((d) => d.tokens)).toEqual([[], [], []]);
    const input = [...docs((t) => `c_${t}`), ...termless];
    for (const k of [3, 'auto'] as const) {
      const plan = planRerun(input, { k, idPrefix: 'c_v2_' });
      // They joined whichever cluster came first in the fit: an unrelated problem took every "ok" of the range.
      expect(plan.assignments.slice(-3)).toEqual(['', '', '']);
      expect(plan.similarities.slice(-3)).toEqual([0, 0, 0]);
      expect(plan.assignments.slice(0, -3)).not.toContain('');
      expect(plan.clusters.reduce((n, c) => n + c.size, 0)).toBe(120);
      expect(plan.clusters.every((c) => c.topTerms.length > 0)).toBe(true);
    }
    const three = planRerun(input, { k: 3, idPrefix: 'c_v2_' });
    expect(new Set(three.assignments.slice(0, -3))).toEqual(new Set(['c_0', 'c_1', 'c_2']));
    expect(three.moved).toBe(0);
    const dense = input.map((d) => Float32Array.from({ length: 4 }, (_, j) => (d.eventId.startsWith(String(j)) ? 1 : 0.01 * j)));
    expect(planRerun(input, { k: 3, idPrefix: 'c_v2_', dense }).assignments.slice(-3)).toEqual(['', '', '']);
    // A range of nothing else makes no cluster (it made one with no terms and an empty label).
    const only = planRerun(termless, { k: 'auto', idPrefix: 'c_v2_' });
    expect([only.assignments, only.clusters, only.lineage, only.moved]).toEqual([['', '', ''], [], [], 0]);
    // A cluster of nothing but such events (a re-fit before this one made it) is retired, not left live and empty.
    const repaired = planRerun([...docs((t) => `c_${t}`), ...termless.map((d) => ({ ...d, current: 'c_v2_0' }))], { k: 3, idPrefix: 'c_v3_' });
    expect(repaired.lineage).toEqual([{ kind: 'retired', from: ['c_v2_0'], to: [] }]);
    expect(repaired.before).toBe(4);
    const alone = planRerun(termless.map((d) => ({ ...d, current: 'c_v2_0' })), { k: 'auto', idPrefix: 'c_v3_' });
    expect([alone.lineage, alone.moved, alone.before]).toEqual([[{ kind: 'retired', from: ['c_v2_0'], to: [] }], 3, 1]);
    // One that was assigned before and has no terms now is a move out of its cluster.
    expect(planRerun([...docs((t) => `c_${t}`), { ...termless[0]!, current: 'c_1' }], { k: 3, idPrefix: 'c_v2_' }).moved).toBe(1);
  });

  it('is deterministic for a seed', () => {
    const d = docs((t) => `c_${t}`);
    expect(planRerun(d, { k: 'auto', idPrefix: 'x_', seed: 3 })).toEqual(planRerun(d, { k: 'auto', idPrefix: 'x_', seed: 3 }));
  });
});
