import { describe, expect, it } from 'vitest';
import { gaussian, mulberry32 } from './prng.js';
import { SemanticOnlineClusterer } from './semantic-online.js';
import { EXAMPLE_CHARS } from './centroid.js';

// Embeddings shaped like a sentence encoder's (a strong shared direction, a direction per topic, noise),
// each with the words a description of that topic would use.
const WORDS = Array.from({ length: 20 }, (_, g) => ['a', 'b', 'c', 'd'].map((w) => `topic${g}${w}`));

function stream(n: number, seed: number, d = 32) {
  const rand = mulberry32(seed);
  const unit = (v: Float32Array) => {
    const s = Math.hypot(...v);
    return v.map((x) => x / s);
  };
  const randVec = () => Float32Array.from({ length: d }, () => gaussian(rand));
  const common = unit(randVec());
  const dirs = WORDS.map(() => unit(randVec()));
  return Array.from({ length: n }, (_, i) => {
    const g = Math.floor(rand() * WORDS.length);
    const noise = unit(randVec());
    const words = WORDS[g]!;
    return {
      topic: g,
      vector: unit(common.map((c, j) => 2 * c + 1.2 * dirs[g]![j]! + 0.8 * noise[j]!)),
      ev: { eventId: `e${i}`, time: 1_000 + i, tokens: [words[i % 4]!, words[(i + 1) % 4]!, 'help'], text: `${words[0]} ${i % 7}` },
    };
  });
}

function run(c: SemanticOnlineClusterer, items: ReturnType<typeof stream>) {
  return items.map((x) => c.assign(x.ev, x.vector));
}

describe('SemanticOnlineClusterer', () => {
  it('keeps a long description as an example cut to EXAMPLE_CHARS', () => {
    const items = stream(200, 5).map((x, i) => (i % 2 ? x : { ...x, ev: { ...x.ev, text: `${x.ev.text} ${'words '.repeat(3000)}` } }));
    const c = new SemanticOnlineClusterer(32, { warmup: 64, mergeEvery: 100 });
    c.warmUp(items.slice(0, 64).map((x) => x.vector));
    run(c, items);
    const examples = c.clusters({ examples: 3 }).flatMap((s) => s.examples);
    expect(examples.some((e) => e.length === EXAMPLE_CHARS && e.endsWith('…'))).toBe(true);
    expect(Math.max(...examples.map((e) => e.length))).toBe(EXAMPLE_CHARS);
  });

  it('groups by the vectors and labels clusters with the words that set them apart', () => {
    const items = stream(1200, 3);
    const c = new SemanticOnlineClusterer(32, { warmup: 64, mergeEvery: 100 });
    c.warmUp(items.slice(0, 64).map((x) => x.vector));
    const out = run(c, items);
    // Each cluster is dominated by one topic.
    const byCluster = new Map<string, number[]>();
    out.forEach((a, i) => byCluster.set(a.clusterId, [...(byCluster.get(a.clusterId) ?? []), items[i]!.topic]));
    let pure = 0;
    for (const topics of byCluster.values()) {
      const counts = WORDS.map((_, g) => topics.filter((t) => t === g).length);
      pure += Math.max(...counts);
    }
    expect(pure / items.length).toBeGreaterThan(0.95);
    expect(c.liveClusters).toBeLessThanOrEqual(24);
    // Labels: the topic's words, never the word every cluster uses.
    const sums = c.clusters({ terms: 3 }).filter((s) => s.size >= 30);
    expect(sums.length).toBeGreaterThanOrEqual(10);
    for (const s of sums) {
      expect(s.topTerms).not.toContain('help');
      const topic = WORDS.findIndex((w) => w.includes(s.topTerms[0]!));
      expect(topic).toBeGreaterThanOrEqual(0);
      expect(s.examples.length).toBeGreaterThan(0);
    }
    expect(c.events).toBe(1200);
  });

  it('records merges as lineage, and every event is placed in a cluster that is live when it returns', () => {
    const items = stream(800, 5);
    // A high join threshold early seeds too many clusters; the periodic merge pass folds them.
    const c = new SemanticOnlineClusterer(32, { warmup: 32, mergeEvery: 50, z: 3, mergeZ: 2 });
    c.warmUp(items.slice(0, 32).map((x) => x.vector));
    let merges = 0;
    for (const x of items) {
      const a = c.assign(x.ev, x.vector);
      // Even when this very pass merged the event's cluster away: the id returned is the survivor's.
      expect(c.describe([a.clusterId])).toHaveLength(1);
      for (const m of a.lineage) {
        merges++;
        expect(m.kind).toBe('merge');
        const dropped = m.from.filter((id) => !m.to.includes(id));
        expect(dropped).toHaveLength(1);
        expect(c.describe(dropped)).toEqual([]);
        expect(c.describe(m.to)).toHaveLength(1);
      }
    }
    expect(merges).toBeGreaterThan(0);
    // Merging moves members, it loses none.
    expect(c.clusters().reduce((n, s) => n + s.size, 0)).toBe(800);
  });

  it('continues byte-identically after a snapshot and restore', () => {
    const items = stream(700, 9);
    const a = new SemanticOnlineClusterer(32, { warmup: 64, mergeEvery: 100 });
    a.warmUp(items.slice(0, 64).map((x) => x.vector));
    run(a, items.slice(0, 300));
    const saved = a.snapshot();
    const b = SemanticOnlineClusterer.restore(saved);
    const restA = run(a, items.slice(300));
    const restB = run(b, items.slice(300));
    expect(JSON.stringify(restB)).toBe(JSON.stringify(restA));
    expect(b.snapshot()).toBe(a.snapshot());
  });

  it("takes in a re-fit's decisions: merged into a held cluster, into one it does not hold (kept under that id), retired", () => {
    const items = stream(900, 3);
    const c = new SemanticOnlineClusterer(32, { warmup: 64, mergeEvery: 100 });
    c.warmUp(items.slice(0, 64).map((x) => x.vector));
    run(c, items.slice(0, 800));
    // Four of its largest clusters.
    const [a, b, d, r] = c.clusters().sort((x, y) => y.size - x.size).map((x) => x.id) as [string, string, string, string];
    const before = c.liveClusters;
    const total = c.clusters().reduce((n, x) => n + x.size, 0);
    const retired = c.describe([r])[0]!.size;
    const applied = c.applyRerun([
      { id: a, into: b },
      { id: d, into: 's_v7_0' },
      { id: r, into: '' },
      { id: 's_9999', into: b },
    ]);
    expect(applied.map((x) => x.id)).toEqual([a, d, r]);
    expect(c.liveClusters).toBe(before - 2);
    const ids = c.clusters().map((x) => x.id);
    expect(ids).toContain('s_v7_0');
    expect(ids).not.toContain(a);
    expect(ids).not.toContain(d);
    expect(ids).not.toContain(r);
    // Merged members moved, none lost but the retired cluster's.
    expect(c.clusters().reduce((n, x) => n + x.size, 0)).toBe(total - retired);
    expect(c.describe(['s_v7_0'])).toHaveLength(1);
    // The old ids name nothing now: a renamed cluster answers to its new id only.
    expect(c.describe([a, d, r])).toEqual([]);
    // Later events of the renamed cluster's topic are placed under its new id, also after a restore.
    const restored = SemanticOnlineClusterer.restore(c.snapshot());
    const later = items.slice(800);
    const placed = run(c, later);
    expect(placed.some((p) => p.clusterId === 's_v7_0')).toBe(true);
    expect(placed.some((p) => p.clusterId === a || p.clusterId === d)).toBe(false);
    expect(JSON.stringify(run(restored, later))).toBe(JSON.stringify(placed));
  });

  it('stays under its cluster cap', () => {
    const items = stream(400, 11);
    const c = new SemanticOnlineClusterer(32, { warmup: 16, z: 6, maxClusters: 10, mergeEvery: 10_000 });
    c.warmUp(items.slice(0, 16).map((x) => x.vector));
    run(c, items);
    expect(c.liveClusters).toBeLessThanOrEqual(10);
  });
});
