import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nmi } from '../eval/metrics.js';
import { junkDocs, syntheticDocs } from './fixtures.test-util.js';
import { OnlineClusterer, type Assignment } from './online.js';
import { sparseBuffer } from '../text/vectorize.js';
import { Tokenizer } from '../text/tokenize.js';

const run = (c: OnlineClusterer, docs: { tokens: string[]; text: string }[], from = 0): Assignment[] =>
  docs.map((d, i) => c.assign({ eventId: `e${from + i}`, tokens: d.tokens, time: 1_000 * (from + i), text: d.text }));

describe('OnlineClusterer', () => {
  it('cuts the whole descriptions a checkpoint written before examples were cut holds, when it restores it', () => {
    const tok = new Tokenizer({ bigrams: true });
    const c = new OnlineClusterer();
    const text = `card declined at the shop ${'again and again '.repeat(1200)}`;
    for (let i = 0; i < 3; i++) c.assign({ eventId: `e${i}`, tokens: tok.tokenize(text), time: 1_000 * i, text });
    const old = JSON.parse(c.snapshot()) as { clusters: { examples: { text: string }[] }[] };
    old.clusters[0]!.examples[0]!.text = text; // as a checkpoint from before kept it
    const restored = OnlineClusterer.restore(JSON.stringify(old));
    expect(restored.clusters({ examples: 3 }).flatMap((s) => s.examples).map((e) => e.length)).toEqual([1000]);
  });

  it("takes in a re-fit's decisions: merged into a held cluster, into one it does not hold (kept under that id), retired", () => {
    const tok = new Tokenizer({ bigrams: true });
    const topics = ['card declined at the shop', 'parcel never arrived home', 'password reset email missing', 'refund still pending weeks', 'app crashes on startup'];
    const place = (c: OnlineClusterer, text: string, i: number) => c.assign({ eventId: `e${i}`, tokens: tok.tokenize(text), time: 1_000 * i, text }).clusterId;
    const c = new OnlineClusterer();
    const ids = topics.map((t, i) => place(c, t, i));
    for (let r = 1; r <= 2; r++) topics.forEach((t, i) => expect(place(c, t, 10 * r + i)).toBe(ids[i]));
    expect(new Set(ids).size).toBe(5);
    const [card, parcel, password, refund] = ids as [string, string, string, string];
    const applied = c.applyRerun([
      { id: card, into: parcel }, // the re-fit found them one problem
      { id: password, into: 'c_v2_0' }, // a cluster the re-fit made
      { id: refund, into: '' }, // retired
      { id: 'c_999', into: parcel }, // not held here: skipped
    ]);
    expect(applied.map((d) => d.id)).toEqual([card, password, refund]);
    const live = new Map(c.clusters().map((s) => [s.id, s.size]));
    expect([...live.keys()].sort()).toEqual([parcel, ids[4]!, 'c_v2_0'].sort());
    expect(live.get(parcel)).toBe(6);
    // New cases go where the re-fit put their problem; a retired problem starts a cluster of its own again.
    expect(place(c, topics[0]!, 100)).toBe(parcel);
    expect(place(c, topics[2]!, 101)).toBe('c_v2_0');
    expect([card, password, refund, parcel, 'c_v2_0']).not.toContain(place(c, topics[3]!, 102));
    // The decisions outlive a checkpoint.
    const restored = OnlineClusterer.restore(c.snapshot());
    expect(restored.clusters().map((s) => s.id).sort()).toEqual(c.clusters().map((s) => s.id).sort());
    expect(place(restored, topics[2]!, 103)).toBe('c_v2_0');
  });

  it('a restored model takes the configured bounds: a higher cluster cap and a new vocabulary bound; not a cap below its live clusters', () => {
    const tok = new Tokenizer({ bigrams: true });
    const topics = ['card declined at the shop', 'parcel never arrived home', 'password reset email missing', 'refund still pending weeks', 'app crashes on startup', 'wrong currency exchange rate', 'cannot verify my identity'];
    const feed = (c: OnlineClusterer, texts: string[], from: number) => texts.forEach((text, i) => c.assign({ eventId: `e${from + i}`, tokens: tok.tokenize(text), time: 1_000 * (from + i), text }));
    const small = new OnlineClusterer({ maxClusters: 4, vectorizer: { maxNames: 1000 } });
    feed(small, topics.slice(0, 4), 0);
    expect(small.liveClusters).toBe(4);
    const snap = small.snapshot();
    // Restored as it was, the cap of 4 makes room for each new problem by merging or retiring.
    const kept = OnlineClusterer.restore(snap);
    feed(kept, topics.slice(4), 10);
    expect(kept.liveClusters).toBeLessThanOrEqual(4);
    // With the operator's new bounds: room for all seven, and the vocabulary bound in force.
    const raised = OnlineClusterer.restore(snap, { maxClusters: 8, maxVocabulary: 500 });
    expect(raised.caps).toEqual({ maxClusters: 8, maxVocabulary: 500 });
    feed(raised, topics.slice(4), 10);
    expect(raised.liveClusters).toBe(7);
    // A cap below the slots it uses is not taken (they would not fit its index): said by caps, warned at start.
    expect(OnlineClusterer.restore(snap, { maxClusters: 2 }).caps.maxClusters).toBe(4);
    // A lower cap that fits is: a model started with room for 50 that holds 4 goes down to 6.
    const roomy = new OnlineClusterer({ maxClusters: 50 });
    feed(roomy, topics.slice(0, 4), 0);
    const lowered = OnlineClusterer.restore(roomy.snapshot(), { maxClusters: 6 });
    expect(lowered.caps.maxClusters).toBe(6);
    feed(lowered, topics.slice(4), 10);
    expect(lowered.liveClusters).toBeLessThanOrEqual(6);
  });

  it('reports explicit changes and finds the topics', () => {
    const docs = syntheticDocs(2000, 1);
    const c = new OnlineClusterer();
    const out = run(c, docs);
    expect(out[0]).toMatchObject({ clusterId: 'c_0', change: 'cluster_created', similarity: 1 });
    expect(out.filter((a) => a.change === 'cluster_updated').length).toBeGreaterThan(1500);
    const merged = new Map<string, string>();
    for (const a of out) for (const e of a.lineage) if (e.kind === 'merge') merged.set(e.from[1]!, e.to[0]!);
    const resolve = (id: string): string => (merged.has(id) ? resolve(merged.get(id)!) : id);
    expect(nmi(docs.map((d) => d.topic), out.map((a) => resolve(a.clusterId)))).toBeGreaterThan(0.7);
    const top = c.clusters()[0]!;
    expect(top.size).toBeGreaterThan(100);
    expect(top.topTerms.length).toBeGreaterThan(3);
    expect(top.label.split(' / ')).toHaveLength(3);
    expect(top.examples.length).toBeGreaterThan(0);
    expect(top.firstSeen).toBeLessThanOrEqual(top.lastSeen);
    // firstSeen(id) is what describe says, for every live cluster, and nothing for an id not live.
    for (const s of c.clusters()) expect(c.firstSeen(s.id)).toBe(s.firstSeen);
    expect(c.firstSeen('c_999999')).toBeUndefined();
  });

  it('a reserved number is taken by the event that names it; new clusters number past the reservation, also after a restore', () => {
    const tok = new Tokenizer({ bigrams: true });
    const c = new OnlineClusterer();
    const at = (text: string, birthSeq?: number) => c.assign({ eventId: text, tokens: tok.tokenize(text), time: 0, text, ...(birthSeq === undefined ? {} : { birthSeq }) });
    expect(at('card declined at the shop')).toMatchObject({ clusterId: 'c_0', born: { id: 'c_0', seq: 0 } });
    c.reserve(5);
    expect(c.nextSeq).toBe(5);
    expect(at('transfer pending for days', 3)).toMatchObject({ clusterId: 'c_3', change: 'cluster_created', born: { id: 'c_3', seq: 3 } });
    expect(at('refund never arrived').clusterId).toBe('c_5');
    // Not reserved (at or past the next number): the next number.
    expect(at('app login crashes', 9).clusterId).toBe('c_6');
    // An event that joins a cluster starts none, whatever number it names.
    const joined = at('card declined at the shop', 4);
    expect(joined).toMatchObject({ clusterId: 'c_0', change: 'cluster_updated' });
    expect(joined.born).toBeUndefined();
    const back = OnlineClusterer.restore(c.snapshot());
    expect(back.nextSeq).toBe(7);
    expect(back.assign({ eventId: 'x', tokens: tok.tokenize('atm swallowed my card'), time: 0, birthSeq: 4 }).clusterId).toBe('c_4');
  });

  it('keeps copies of one template message in one cluster when they make up nearly all of the stream', () => {
    const tok = new Tokenizer({ bigrams: true });
    const c = new OnlineClusterer();
    const others = ['card declined at the shop', 'transfer pending for days', 'change my pin code', 'refund never arrived', 'app login crashes',
      'statement pdf missing', 'atm swallowed my card', 'exchange rate is wrong', 'account locked out'];
    others.forEach((t, i) => c.assign({ eventId: `o${i}`, tokens: tok.tokenize(t), time: 0, text: t }));
    const ids = new Set(Array.from({ length: 990 }, (_, i) => c.assign({ eventId: `t${i}`, tokens: tok.tokenize('parcel delivery late again'), time: 0, text: 'parcel delivery late again' }).clusterId));
    expect(ids.size).toBe(1);
  });

  it('leaves a description without terms unassigned', () => {
    const c = new OnlineClusterer();
    expect(c.assign({ eventId: 'x', tokens: [], time: 0 })).toMatchObject({ clusterId: '', change: 'unassigned' });
    expect(c.liveClusters).toBe(0);
  });

  it('round-trips a snapshot byte for byte', () => {
    const c = new OnlineClusterer({ maintenanceEvery: 100 });
    run(c, syntheticDocs(1500, 2));
    const snap = c.snapshot();
    expect(JSON.parse(snap)).toMatchObject({ format: 'recur.online-clusterer', version: 2 });
    expect(OnlineClusterer.restore(snap).snapshot()).toBe(snap);
    expect(() => OnlineClusterer.restore(snap.replace('"version":2', '"version":99'))).toThrow(/version/);
  });

  it('restores a format 1 snapshot (as the first release wrote it) and continues exactly as that model did', () => {
    const fixture = JSON.parse(readFileSync(new URL('./snapshot-v1.fixture.json', import.meta.url), 'utf8')) as { snapshot: string; next: [string, string][] };
    expect(JSON.parse(fixture.snapshot)).toMatchObject({ version: 1 });
    const docs = syntheticDocs(900, 7).slice(600);
    const fromV1 = OnlineClusterer.restore(fixture.snapshot);
    const v2 = fromV1.snapshot();
    expect(run(fromV1, docs, 600).map((a) => [a.clusterId, a.change])).toEqual(fixture.next);
    const fromV2 = OnlineClusterer.restore(v2);
    expect(run(fromV2, docs, 600).map((a) => [a.clusterId, a.change])).toEqual(fixture.next);
    expect(fromV2.snapshot()).toBe(fromV1.snapshot());
  });

  it('refuses a damaged format 2 snapshot instead of restoring a different model', () => {
    const c = new OnlineClusterer({ maintenanceEvery: 100 });
    run(c, syntheticDocs(300, 8));
    const snap = JSON.parse(c.snapshot()) as { clusters: { terms: { entries: string } }[]; index: { lens: string } };
    const cut = structuredClone(snap);
    cut.clusters[0]!.terms.entries = cut.clusters[0]!.terms.entries.slice(0, 16);
    expect(() => OnlineClusterer.restore(JSON.stringify(cut))).toThrow(/term table/);
    const short = structuredClone(snap);
    short.index.lens = Buffer.from(new Int32Array([1]).buffer).toString('base64');
    expect(() => OnlineClusterer.restore(JSON.stringify(short))).toThrow(/postings/);
  });

  it('replays the same events from the same snapshot to identical assignments and ids', () => {
    const docs = syntheticDocs(3000, 3);
    const c = new OnlineClusterer({ maintenanceEvery: 128, maxClusters: 40 });
    run(c, docs.slice(0, 1000));
    const snap = c.snapshot();
    const first = run(c, docs.slice(1000), 1000);
    const replay = OnlineClusterer.restore(snap);
    const second = run(replay, docs.slice(1000), 1000);
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(replay.snapshot()).toBe(c.snapshot());
    const fresh = new OnlineClusterer({ maintenanceEvery: 128, maxClusters: 40 });
    expect(JSON.stringify(run(fresh, docs))).toBe(JSON.stringify([...run(new OnlineClusterer({ maintenanceEvery: 128, maxClusters: 40 }), docs)]));
  });

  it('places a vector from a reused buffer exactly as a vector of its own', () => {
    const docs = syntheticDocs(1500, 6);
    const a = new OnlineClusterer({ maintenanceEvery: 100, maxClusters: 30 });
    const b = new OnlineClusterer({ maintenanceEvery: 100, maxClusters: 30 });
    const buf = sparseBuffer(1);
    const own: Assignment[] = [];
    const placed = docs.map((d, i) => {
      const ev = { eventId: `e${i}`, tokens: d.tokens, time: 1_000 * i, text: d.text };
      own.push(a.place(a.vectorizer.updateAndTransform(d.tokens), ev));
      return b.placeBuffer(b.vectorizer.updateAndTransformInto(d.tokens, undefined, buf), ev);
    });
    expect(JSON.stringify(placed)).toBe(JSON.stringify(own));
    expect(b.snapshot()).toBe(a.snapshot());
  });

  it('never exceeds the cluster cap or the vocabulary cap over a long random stream', () => {
    const c = new OnlineClusterer({ maxClusters: 60, vectorizer: { maxNames: 500, dimensions: 1 << 14 }, maintenanceEvery: 500 });
    let retired = 0;
    junkDocs(20_000, 4).forEach((tokens, i) => {
      const a = c.assign({ eventId: String(i), tokens, time: i });
      retired += a.lineage.filter((e) => e.kind === 'retired').length;
      expect(c.liveClusters).toBeLessThanOrEqual(60);
      expect(c.vectorizer.vocabularySize).toBeLessThanOrEqual(500);
    });
    expect(retired).toBeGreaterThan(0);
    expect(c.clusters().length).toBe(c.liveClusters);
  });

  it('retires small clusters that went stale', () => {
    const c = new OnlineClusterer({ retireAfter: 10_000, maintenanceEvery: 50 });
    c.assign({ eventId: 'lonely', tokens: ['unique', 'words', 'here'], time: 0 });
    const out = run(c, syntheticDocs(200, 5), 1);
    const retired = out.flatMap((a) => a.lineage).filter((e) => e.kind === 'retired');
    expect(retired.map((e) => e.from[0])).toContain('c_0');
  });
});
