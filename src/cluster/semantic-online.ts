import { DenseOnlineClusterer, type DenseOnlineOptions, type DenseOnlineState } from '../text/embed/dense-online.js';
import { applyDecisions, type Assignment, type ClusterEvent, type LineageEvent, type ModelCaps, type RerunDecision } from './online.js';
import { labelOf, type ClusterSummary } from './labels.js';
import { exampleText } from './centroid.js';

// The live clusterer by meaning: the dense single-pass clusterer (src/text/embed/dense-online.ts) decides
// where a description goes from its sentence embedding; the description's tokens only describe the
// clusters (class-based TF-IDF labels, the same idea as the lexical clusterer's). Merges are recorded as
// lineage; the cluster cap bounds memory (beyond it a text joins its nearest cluster); term statistics are
// capped per cluster and overall. Snapshot and restore continue byte-identically.

export interface SemanticOnlineOptions extends DenseOnlineOptions {
  idPrefix?: string;
  examples?: number;
  /** Terms counted per cluster (pruned back to this when three times as many). */
  maxTermsPerCluster?: number;
  /** Distinct terms in the overall frequency table (the rarest half dropped when exceeded). */
  maxVocabulary?: number;
}

interface Described {
  size: number;
  firstSeen: number;
  lastSeen: number;
  examples: string[];
  terms: Map<string, number>;
}

interface State {
  v: 1;
  opts: { idPrefix: string; examples: number; maxTermsPerCluster: number; maxVocabulary: number };
  events: number;
  dense: DenseOnlineState;
  clusters: [number, { size: number; firstSeen: number; lastSeen: number; examples: string[]; terms: [string, number][] }][];
  vocabulary: [string, number][];
  tokens: number;
  /** Clusters that carry on under an id a batch re-fit gave them (applyRerun); absent when none. */
  aliases?: [number, string][];
}

export class SemanticOnlineClusterer {
  private dense: DenseOnlineClusterer;
  private readonly described = new Map<number, Described>();
  private readonly vocabulary = new Map<string, number>();
  private tokens = 0;
  private eventCount = 0;
  private readonly opts: State['opts'];
  /** Cluster number → the id a batch re-fit gave it (applyRerun), and back. */
  private readonly aliases = new Map<number, string>();
  private readonly aliased = new Map<string, number>();

  constructor(
    readonly dims: number,
    opts: SemanticOnlineOptions = {},
  ) {
    const { idPrefix = 's_', examples = 3, maxTermsPerCluster = 64, maxVocabulary = 100_000, ...dense } = opts;
    this.opts = { idPrefix, examples, maxTermsPerCluster, maxVocabulary };
    this.dense = new DenseOnlineClusterer(dims, dense);
  }

  get events(): number {
    return this.eventCount;
  }

  get liveClusters(): number {
    return this.dense.liveClusters;
  }

  /** Texts that fix the common direction and chance similarity; call once with the first texts, then assign them. */
  warmUp(vectors: readonly Float32Array[]): void {
    if (!this.dense.warmedUp) this.dense.warmUp(vectors);
  }

  get warmedUp(): boolean {
    return this.dense.warmedUp;
  }

  get warmupSize(): number {
    return this.dense.opts.warmup;
  }

  assign(ev: ClusterEvent, vector: Float32Array): Assignment {
    this.eventCount++;
    const a = this.dense.add(vector, ev.birthSeq);
    const d = this.described.get(a.clusterId) ?? this.create(a.clusterId, ev.time);
    d.size++;
    if (ev.time < d.firstSeen) d.firstSeen = ev.time;
    if (ev.time > d.lastSeen) d.lastSeen = ev.time;
    if (ev.text !== undefined && d.examples.length < this.opts.examples) {
      const text = exampleText(ev.text);
      if (!d.examples.includes(text)) d.examples.push(text);
    }
    this.count(d, ev.tokens);
    const lineage: LineageEvent[] = a.merged.map((m) => {
      this.absorb(m.keep, m.drop);
      return { kind: 'merge', from: [this.id(m.keep), this.id(m.drop)], to: [this.id(m.keep)], time: ev.time };
    });
    // The event's own cluster may have been merged away by this very pass: report where it lives now.
    const live = this.dense.resolve(a.clusterId);
    const out: Assignment = { clusterId: this.id(live), similarity: a.similarity, change: a.change, lineage };
    if (a.change === 'cluster_created') out.born = { id: this.id(a.clusterId), seq: a.clusterId };
    return out;
  }

  /** What every cluster id starts with, before its number. */
  get idPrefix(): string {
    return this.opts.idPrefix;
  }

  /** The number the next new cluster's id takes. */
  get nextSeq(): number {
    return this.dense.nextClusterId;
  }

  /** New clusters take numbers from `seq` on; unused ones below stay free for events that name theirs (ClusterEvent.birthSeq). */
  reserve(seq: number): void {
    this.dense.reserve(seq);
  }

  clusters(opts: { terms?: number; examples?: number } = {}): ClusterSummary[] {
    return this.summaries([...this.described.keys()], opts);
  }

  describe(ids: readonly string[], opts: { terms?: number; examples?: number } = {}): ClusterSummary[] {
    const nums = ids.map((id) => this.number(id)).filter((n): n is number => n !== undefined && this.described.has(n));
    return this.summaries(nums, opts);
  }

  /** The cluster number an id names (a re-fit's id for a cluster it renamed; not the old id of one). */
  private number(id: string): number | undefined {
    const a = this.aliased.get(id);
    if (a !== undefined) return a;
    if (!id.startsWith(this.opts.idPrefix)) return undefined;
    const n = Number(id.slice(this.opts.idPrefix.length));
    return Number.isInteger(n) && !this.aliases.has(n) ? n : undefined;
  }

  private alias(n: number, id: string | undefined): void {
    const old = this.aliases.get(n);
    if (old !== undefined) this.aliased.delete(old);
    if (id === undefined) this.aliases.delete(n);
    else {
      this.aliases.set(n, id);
      this.aliased.set(id, n);
    }
  }

  /**
   * Takes in what a batch re-fit (`recur rerun`) decided about clusters this model holds, which it has not seen:
   * merged into one it holds, the two merge; merged into one it does not hold, the cluster carries on under that
   * id; retired (`into` ''), it leaves. Others are skipped. Returns the decisions applied (their lineage is the re-fit's).
   */
  applyRerun(decisions: readonly RerunDecision[]): RerunDecision[] {
    const held = new Map<string, number>();
    for (const n of this.described.keys()) held.set(this.id(n), n);
    return applyDecisions(held, decisions, {
      retire: (n) => {
        this.dense.remove(n);
        this.described.delete(n);
        this.alias(n, undefined);
      },
      rename: (n, id) => this.alias(n, id),
      merge: (n, keep) => {
        this.dense.mergeInto(n, keep);
        this.absorb(keep, n);
        this.alias(n, undefined);
      },
    });
  }

  snapshot(): string {
    const state: State = {
      v: 1,
      opts: this.opts,
      events: this.eventCount,
      dense: this.dense.snapshot(),
      clusters: [...this.described].map(([id, d]) => [id, { size: d.size, firstSeen: d.firstSeen, lastSeen: d.lastSeen, examples: d.examples, terms: [...d.terms] }]),
      vocabulary: [...this.vocabulary],
      tokens: this.tokens,
      ...(this.aliases.size > 0 ? { aliases: [...this.aliases] } : {}),
    };
    return JSON.stringify(state);
  }

  /** `caps`: the operator's configured bounds, which win over the snapshot's (a lower cluster cap only stops new clusters). */
  static restore(json: string, caps: ModelCaps = {}): SemanticOnlineClusterer {
    const s = JSON.parse(json) as State;
    if (s.v !== 1) throw new Error(`unknown semantic clusterer snapshot version ${String(s.v)}`);
    if (caps.maxVocabulary !== undefined) s.opts.maxVocabulary = caps.maxVocabulary;
    if (caps.maxClusters !== undefined) s.dense.opts = { ...s.dense.opts, maxClusters: caps.maxClusters };
    const c = new SemanticOnlineClusterer(s.dense.dims, s.opts);
    c.dense = DenseOnlineClusterer.restore(s.dense);
    c.eventCount = s.events;
    c.tokens = s.tokens;
    for (const [t, n] of s.vocabulary) c.vocabulary.set(t, n);
    for (const [n, id] of s.aliases ?? []) c.alias(n, id);
    for (const [id, d] of s.clusters) c.described.set(id, { size: d.size, firstSeen: d.firstSeen, lastSeen: d.lastSeen, examples: d.examples.map(exampleText), terms: new Map(d.terms) });
    return c;
  }

  /** The bounds in force. */
  get caps(): Required<ModelCaps> {
    return { maxClusters: this.dense.opts.maxClusters, maxVocabulary: this.opts.maxVocabulary };
  }

  private id(n: number): string {
    return this.aliases.get(n) ?? `${this.opts.idPrefix}${n}`;
  }

  private create(id: number, time: number): Described {
    const d: Described = { size: 0, firstSeen: time, lastSeen: time, examples: [], terms: new Map() };
    this.described.set(id, d);
    return d;
  }

  private count(d: Described, tokens: readonly string[]): void {
    for (const t of tokens) {
      d.terms.set(t, (d.terms.get(t) ?? 0) + 1);
      this.vocabulary.set(t, (this.vocabulary.get(t) ?? 0) + 1);
    }
    this.tokens += tokens.length;
    if (d.terms.size > 3 * this.opts.maxTermsPerCluster) d.terms = topCounts(d.terms, this.opts.maxTermsPerCluster);
    if (this.vocabulary.size > this.opts.maxVocabulary) {
      const kept = topCounts(this.vocabulary, Math.floor(this.opts.maxVocabulary / 2));
      this.vocabulary.clear();
      for (const [t, n] of kept) this.vocabulary.set(t, n);
    }
  }

  private absorb(keep: number, drop: number): void {
    const k = this.described.get(keep);
    const g = this.described.get(drop);
    if (!k || !g) return;
    k.size += g.size;
    k.firstSeen = Math.min(k.firstSeen, g.firstSeen);
    k.lastSeen = Math.max(k.lastSeen, g.lastSeen);
    for (const e of g.examples) if (k.examples.length < this.opts.examples && !k.examples.includes(e)) k.examples.push(e);
    for (const [t, n] of g.terms) k.terms.set(t, (k.terms.get(t) ?? 0) + n);
    if (k.terms.size > 3 * this.opts.maxTermsPerCluster) k.terms = topCounts(k.terms, this.opts.maxTermsPerCluster);
    this.described.delete(drop);
  }

  /**
   * Class-based TF-IDF (Grootendorst 2022): a term's share of the cluster's tokens times
   * log(1 + average tokens per cluster / the term's count overall), so words every cluster uses rank low.
   */
  private summaries(ids: readonly number[], opts: { terms?: number; examples?: number }): ClusterSummary[] {
    const live = Math.max(1, this.described.size);
    const avg = this.tokens / live;
    return ids.map((id) => {
      const d = this.described.get(id)!;
      let total = 0;
      for (const n of d.terms.values()) total += n;
      const scored = [...d.terms]
        .map(([t, n]) => [t, (n / Math.max(1, total)) * Math.log(1 + avg / Math.max(1, this.vocabulary.get(t) ?? n))] as const)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
      const topTerms = scored.slice(0, opts.terms ?? 8).map(([t]) => t);
      return {
        id: this.id(id),
        size: d.size,
        topTerms,
        label: labelOf(topTerms),
        examples: d.examples.slice(0, opts.examples ?? this.opts.examples),
        firstSeen: d.firstSeen,
        lastSeen: d.lastSeen,
      };
    });
  }
}

/** The n largest counts (ties by term, so the result is deterministic). */
function topCounts(m: ReadonlyMap<string, number>, n: number): Map<string, number> {
  return new Map([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n));
}
