import { HashingVectorizer, sparseBuffer, type SparseBuffer, type SparseVector, type VectorizerOptions } from '../text/vectorize.js';
import {
  absorb, addMember, wantsExample, clusterSimilarity, offerExample, pruneTerms, similarity, topTermsInto, type ClusterState,
} from './centroid.js';
import type { LineageRecord } from './identity.js';
import { summarize, type ClusterSummary } from './labels.js';
import { sortByKeyDesc } from './order.js';
import { PostingIndex } from './postings.js';
import { TermTable } from './termtable.js';
import { fromSnapshot, toSnapshot } from './snapshot.js';
import { ThresholdTracker } from './threshold.js';

// Single-pass clustering: a description joins the most similar live cluster above the join threshold or
// seeds a new one. Candidates come from an inverted index over clusters' top terms; memory is bounded by
// the cluster cap (near-duplicates merge, small stale clusters retire) and the vectorizer's fixed size.

/** A model's bounds: live clusters, and term strings kept for labels. */
export interface ModelCaps {
  maxClusters?: number;
  maxVocabulary?: number;
}

export interface OnlineOptions {
  /** Join similarity, or 'auto' (relative to the stream's own similarity distribution). Default 'auto'. */
  threshold?: number | 'auto';
  /** For 'auto': standard deviations above chance similarity. Default 1.645 (one-sided 5% level). */
  thresholdZ?: number;
  maxClusters?: number;
  /**
   * Centroid cosine at or above which two clusters merge during maintenance, or 'auto' (default): merge when
   * each cluster's members would on average join the other, cos(a, b) · cohesion ≥ τ for both clusters
   * (cohesion = mean member cosine to the own centroid = |sum| / size).
   */
  mergeThreshold?: number | 'auto';
  /** Events between maintenance passes (merges, retirement). Default 1,000. */
  maintenanceEvery?: number;
  /** A cluster smaller than minLiveSize and unseen for this long (caller's time unit) retires. Default 30 days in ms. */
  retireAfter?: number;
  minLiveSize?: number;
  /** Terms kept per centroid (pruned back to this when three times as many). Default 128. */
  maxTermsPerCluster?: number;
  /** Top centroid terms per cluster in the inverted index. Default 24. */
  indexTerms?: number;
  /** Clusters kept per term in the inverted index (the heaviest). Default 16. */
  maxPosting?: number;
  /** Heaviest document terms used to look up candidates. Default 32 (fewer misses clusters: measured). */
  queryTerms?: number;
  /** Candidates scored exactly per event. Default 3. */
  candidates?: number;
  examples?: number;
  idPrefix?: string;
  vectorizer?: VectorizerOptions;
}

export type ResolvedOnlineOptions = Required<Omit<OnlineOptions, 'vectorizer'>>;

export interface ClusterEvent {
  eventId: string;
  tokens: readonly string[];
  /** hashTerm of each token in the first tokens.length entries (Tokenizer.tokenize's `hashes`): not re-hashed. */
  hashes?: readonly number[];
  /** Event time in the caller's unit (epoch ms by convention); only compared and stored. */
  time: number;
  /** Masked text, kept as a representative example when central. */
  text?: string;
  /**
   * If this event starts a new cluster, the sequence number its id takes instead of the next one: the one it
   * took before a restart (cluster_births), reserved since (reserve()). Never a number the model has used.
   */
  birthSeq?: number;
}

export type ChangeType = 'cluster_created' | 'cluster_updated' | 'unassigned';

export interface LineageEvent extends LineageRecord {
  time: number;
}

/** What a batch re-fit decided about a cluster: merged into `into`, or retired (`into` ''). */
export interface RerunDecision {
  id: string;
  into: string;
}

/**
 * A re-fit's decisions over the clusters a live model holds (`held`, by id; kept current as they apply): each
 * about a held cluster is a retirement, a merge into another held one, or a rename to an id it does not hold.
 * The others are skipped. Returns those applied.
 */
export function applyDecisions<C>(
  held: Map<string, C>,
  decisions: readonly RerunDecision[],
  act: { retire(gone: C): void; rename(gone: C, id: string): void; merge(gone: C, keep: C): void },
): RerunDecision[] {
  const applied: RerunDecision[] = [];
  for (const d of decisions) {
    const gone = held.get(d.id);
    if (gone === undefined || d.into === d.id) continue;
    const keep = d.into === '' ? undefined : held.get(d.into);
    held.delete(d.id);
    if (d.into === '') act.retire(gone);
    else if (keep === undefined) {
      act.rename(gone, d.into);
      held.set(d.into, gone);
    } else act.merge(gone, keep);
    applied.push(d);
  }
  return applied;
}

export interface Assignment {
  /** '' when the description has no terms ('unassigned'). */
  clusterId: string;
  similarity: number;
  change: ChangeType;
  /** Merges and retirements this call caused (usually empty: then one shared frozen array). */
  lineage: readonly LineageEvent[];
  /** The cluster this event started ('cluster_created'), even if a merge in the same call took it away at once. */
  born?: { id: string; seq: number };
}

const NO_LINEAGE: readonly LineageEvent[] = Object.freeze([]);

export const DEFAULT_ONLINE_OPTIONS: ResolvedOnlineOptions = {
  threshold: 'auto', thresholdZ: 1.645, maxClusters: 2000, mergeThreshold: 'auto', maintenanceEvery: 1000,
  retireAfter: 30 * 86_400_000, minLiveSize: 3, maxTermsPerCluster: 128, indexTerms: 24, candidates: 3,
  examples: 3, idPrefix: 'c_', maxPosting: 16, queryTerms: 32,
};

export class OnlineClusterer {
  readonly options: ResolvedOnlineOptions;
  readonly vectorizer: HashingVectorizer;
  /** Internal state; public for the snapshot module only. */
  state: { slots: (ClusterState | undefined)[]; free: number[]; live: number; seq: number; events: number };
  readonly index: PostingIndex;
  readonly tracker: ThresholdTracker;
  /** Candidate slots of the event being placed (reused). */
  private readonly found: Int32Array;
  private queryOrder = new Int32Array(0);
  private queryPos = new Int32Array(0);
  private queryWeight = new Float64Array(0);
  private queryIdx = new Int32Array(0);
  private queryVal = new Float32Array(0);
  /** The vector of the event being assigned (reused: nothing keeps it past place()). */
  private readonly vector = sparseBuffer();
  /** reindex()'s top terms and weights (reused). */
  private readonly topT: Int32Array;
  private readonly topW: Float64Array;

  constructor(opts: OnlineOptions = {}, vectorizer?: HashingVectorizer) {
    const { vectorizer: vopts, ...rest } = opts;
    this.options = { ...DEFAULT_ONLINE_OPTIONS, ...rest };
    if (!(this.options.maxClusters >= 2)) throw new RangeError(`maxClusters must be >= 2, got ${this.options.maxClusters}`);
    this.vectorizer = vectorizer ?? new HashingVectorizer(vopts);
    this.state = { slots: [], free: [], live: 0, seq: 0, events: 0 };
    this.index = new PostingIndex(this.options.maxClusters + 1, this.options.maxPosting);
    this.found = new Int32Array(Math.max(0, this.options.candidates));
    this.topT = new Int32Array(Math.max(0, this.options.indexTerms));
    this.topW = new Float64Array(Math.max(0, this.options.indexTerms));
    this.tracker = new ThresholdTracker({ threshold: this.options.threshold, z: this.options.thresholdZ });
  }

  get liveClusters(): number {
    return this.state.live;
  }

  /** The sequence number the next new cluster's id takes. */
  get nextSeq(): number {
    return this.state.seq;
  }

  /**
   * New clusters take numbers from `seq` on: the numbers below it that this model has not used stay free for
   * events that name theirs (ClusterEvent.birthSeq). A restart reserves those of clusters born after its checkpoint.
   */
  reserve(seq: number): void {
    if (seq > this.state.seq) this.state.seq = seq;
  }

  /** Vectorises (updating document frequencies) and places one description. */
  assign(ev: ClusterEvent): Assignment {
    return this.placeBuffer(this.vectorizer.updateAndTransformInto(ev.tokens, ev.hashes, this.vector), ev);
  }

  /** Places an already vectorised description. */
  place(v: SparseVector, ev: ClusterEvent): Assignment {
    return this.placeTerms(v, v.idx.length, ev);
  }

  /**
   * Places a description vectorised into a buffer (HashingVectorizer.updateAndTransformInto); the buffer is
   * only read, so the caller may reuse it once this returns.
   */
  placeBuffer(v: SparseBuffer, ev: ClusterEvent): Assignment {
    return this.placeTerms(v, v.length, ev);
  }

  /** Places the description made of the first n terms of v (v itself is not kept). */
  private placeTerms(v: SparseVector, n: number, ev: ClusterEvent): Assignment {
    const st = this.state;
    st.events++;
    let out: Assignment;
    if (n === 0) out = { clusterId: '', similarity: 0, change: 'unassigned', lineage: NO_LINEAGE };
    else {
      let best: ClusterState | undefined;
      let bestSim = 0;
      const q = n <= this.options.queryTerms ? v : this.queryTerms(v, n);
      const found = this.found;
      const m = this.index.candidates(q.idx, q.val, found, -1, Math.min(n, this.options.queryTerms));
      for (let k = 0; k < m; k++) {
        const c = st.slots[found[k]!]!;
        const s = similarity(c, v, n);
        if (s > bestSim) {
          bestSim = s;
          best = c;
        }
      }
      const tau = this.tracker.threshold();
      this.tracker.observe(v, n);
      if (best !== undefined && bestSim >= tau) {
        this.join(best, v, n, bestSim, ev);
        out = { clusterId: best.id, similarity: bestSim, change: 'cluster_updated', lineage: NO_LINEAGE };
      } else {
        const lineage = st.live >= this.options.maxClusters ? this.shrink(ev.time) : NO_LINEAGE;
        const c = this.create(v, n, ev);
        out = { clusterId: c.id, similarity: 1, change: 'cluster_created', lineage, born: { id: c.id, seq: c.seq } };
      }
    }
    if (st.events % this.options.maintenanceEvery === 0) {
      const more = this.maintain(ev.time);
      if (more.length > 0) out.lineage = [...out.lineage, ...more];
    }
    return out;
  }

  /** Merges near-duplicate clusters and retires small stale ones; also run every maintenanceEvery events. */
  maintain(time: number): LineageEvent[] {
    const events: LineageEvent[] = [];
    const o = this.options;
    for (let slot = 0; slot < this.state.slots.length; slot++) {
      const a = this.state.slots[slot];
      if (a === undefined || !a.dirty) continue;
      a.dirty = false;
      const inv = 1 / Math.sqrt(a.norm2);
      const weights = a.indexed.map((t) => a.terms.weight(t) * inv);
      const cands = new Int32Array(o.candidates);
      const n = this.index.candidates(a.indexed, weights, cands, slot);
      for (let k = 0; k < n; k++) {
        const b = this.state.slots[cands[k]!];
        if (b === undefined) continue;
        const [keep, gone]: [ClusterState, ClusterState] = a.size > b.size || (a.size === b.size && a.seq < b.seq) ? [a, b] : [b, a];
        if (!this.shouldMerge(keep, gone)) continue;
        absorb(keep, gone, o.examples);
        pruneTerms(keep, o.maxTermsPerCluster);
        this.drop(gone);
        this.reindex(keep);
        events.push({ kind: 'merge', from: [keep.id, gone.id], to: [keep.id], time });
        if (gone === a) break;
      }
    }
    for (const c of this.liveList()) {
      if (c.size < o.minLiveSize && time - c.lastSeen > o.retireAfter) events.push(this.retire(c, time));
    }
    return events;
  }

  /**
   * Takes in what a batch re-fit (`recur rerun`) decided about clusters this model holds, which it has not seen:
   * a cluster merged into one this model holds joins it; merged into one it does not hold (the re-fit made it),
   * it carries on under that id; retired (`into` ''), it leaves. Decisions about clusters it does not hold are
   * skipped. Returns the decisions applied. The re-fit recorded their lineage; none is made here.
   */
  applyRerun(decisions: readonly RerunDecision[]): RerunDecision[] {
    const held = new Map<string, ClusterState>();
    for (const c of this.state.slots) if (c !== undefined) held.set(c.id, c);
    return applyDecisions(held, decisions, {
      retire: (gone) => this.drop(gone),
      rename: (gone, id) => {
        gone.id = id;
      },
      merge: (gone, keep) => {
        absorb(keep, gone, this.options.examples);
        pruneTerms(keep, this.options.maxTermsPerCluster);
        this.drop(gone);
        this.reindex(keep);
      },
    });
  }

  /** Live clusters, largest first (ties: older first), with labels and examples. */
  clusters(opts: { terms?: number; examples?: number } = {}): ClusterSummary[] {
    return summarize(this.liveList(), this.vectorizer, this.state.events, opts);
  }

  /** The same summaries for a few clusters only (alerts), without labelling the whole model. */
  describe(ids: readonly string[], opts: { terms?: number; examples?: number } = {}): ClusterSummary[] {
    const want = new Set(ids);
    const subset = this.liveList().filter((c) => want.has(c.id));
    return summarize(subset, this.vectorizer, this.state.events, { ...opts, liveClusters: this.state.live });
  }

  snapshot(): string {
    return toSnapshot(this);
  }

  /**
   * `caps`: the operator's configured bounds, which win over the snapshot's, except a cluster cap below the
   * cluster slots the model uses (they would not fit its index: it keeps its own cap; `caps` says which is in
   * force). A lower cap that fits is reached by merging and retiring, as at any cap, from the next new cluster.
   */
  static restore(json: string, caps: ModelCaps = {}): OnlineClusterer {
    return fromSnapshot(json, (opts, vec, slotCount) => {
      if (caps.maxVocabulary !== undefined) vec.setMaxNames(caps.maxVocabulary);
      const own = opts.maxClusters ?? DEFAULT_ONLINE_OPTIONS.maxClusters;
      const maxClusters = caps.maxClusters === undefined ? own : caps.maxClusters + 1 >= slotCount ? caps.maxClusters : Math.max(own, caps.maxClusters);
      return new OnlineClusterer({ ...opts, maxClusters }, vec);
    });
  }

  /** The bounds in force. */
  get caps(): Required<ModelCaps> {
    return { maxClusters: this.options.maxClusters, maxVocabulary: this.vectorizer.maxNames };
  }

  /** The heaviest of the first n terms (at most options.queryTerms) for candidate lookup; rare terms decide. */
  private queryTerms(v: SparseVector, n: number): { idx: ArrayLike<number>; val: ArrayLike<number> } {
    if (this.queryOrder.length < n) {
      this.queryOrder = new Int32Array(2 * n);
      this.queryPos = Int32Array.from({ length: 2 * n }, (_, i) => i);
      this.queryWeight = new Float64Array(2 * n);
    }
    const order = this.queryOrder;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      this.queryWeight[i] = v.val[i]!;
    }
    sortByKeyDesc(order, n, this.queryWeight, this.queryPos); // heaviest first, ties: lower position
    const m = Math.min(n, this.options.queryTerms);
    // Reused: candidates() reads the query before the next call, and fresh typed arrays this size are off-heap.
    if (this.queryIdx.length !== m) {
      this.queryIdx = new Int32Array(m);
      this.queryVal = new Float32Array(m);
    }
    const { queryIdx: idx, queryVal: val } = this;
    for (let k = 0; k < m; k++) {
      idx[k] = v.idx[order[k]!]!;
      val[k] = v.val[order[k]!]!;
    }
    return { idx, val };
  }

  private shouldMerge(keep: ClusterState, gone: ClusterState): boolean {
    const cos = clusterSimilarity(keep, gone);
    const m = this.options.mergeThreshold;
    if (m !== 'auto') return cos >= m;
    // Mean cosine of x's members to the other centroid = cos(centroids) · |sum(x)| / size(x).
    const cohesion = Math.min(Math.sqrt(gone.norm2) / gone.size, Math.sqrt(keep.norm2) / keep.size);
    return cos * cohesion >= this.tracker.threshold();
  }

  /** Event time of a live cluster's first member (undefined: not a live cluster). A scan, without allocating. */
  firstSeen(id: string): number | undefined {
    for (const c of this.state.slots) if (c !== undefined && c.id === id) return c.firstSeen;
    return undefined;
  }

  private liveList(): ClusterState[] {
    return this.state.slots.filter((c): c is ClusterState => c !== undefined);
  }

  private join(c: ClusterState, v: SparseVector, n: number, sim: number, ev: ClusterEvent): void {
    addMember(c, v, sim * Math.sqrt(c.norm2), ev.time, n);
    if (ev.text !== undefined && wantsExample(c, sim, this.options.examples)) {
      offerExample(c, { text: ev.text, eventId: ev.eventId, sim }, this.options.examples);
    }
    const pruned = pruneTerms(c, this.options.maxTermsPerCluster);
    if (pruned || c.size >= c.nextRefresh) this.reindex(c);
  }

  private create(v: SparseVector, n: number, ev: ClusterEvent): ClusterState {
    const st = this.state;
    const slot = st.free.length > 0 ? st.free.pop()! : st.slots.length;
    // A reserved number (below st.seq: reserve() moved the counter past it) or the next one.
    const seq = ev.birthSeq !== undefined && ev.birthSeq < st.seq ? ev.birthSeq : st.seq++;
    const c: ClusterState = {
      id: `${this.options.idPrefix}${seq}`, seq, slot, size: 0, norm2: 0, terms: new TermTable(),
      firstSeen: ev.time, lastSeen: ev.time, examples: [], exampleFloor: Infinity, indexed: [], nextRefresh: 2, dirty: true,
    };
    st.slots[slot] = c;
    st.live++;
    addMember(c, v, 0, ev.time, n);
    if (ev.text !== undefined) offerExample(c, { text: ev.text, eventId: ev.eventId, sim: 1 }, this.options.examples);
    this.reindex(c);
    return c;
  }

  /** Re-posts the cluster's top terms; refreshes at sizes 2, 4, 8, … 64, then every 64 members. */
  private reindex(c: ClusterState): void {
    for (const t of c.indexed) this.index.remove(t, c.slot);
    const { topT, topW } = this;
    const m = topTermsInto(c, this.options.indexTerms, topT, topW);
    const indexed = c.indexed; // rewritten in place: nothing else holds it (snapshots copy)
    indexed.length = m;
    for (let k = 0; k < m; k++) indexed[k] = topT[k]!;
    for (let k = 0; k < m; k++) this.index.add(topT[k]!, c.slot, topW[k]!);
    c.nextRefresh = c.size < 64 ? Math.max(2, c.size * 2) : c.size + 64;
    c.dirty = true;
  }

  private drop(c: ClusterState): void {
    for (const t of c.indexed) this.index.remove(t, c.slot);
    this.state.slots[c.slot] = undefined;
    this.state.free.push(c.slot);
    this.state.live--;
  }

  private retire(c: ClusterState, time: number): LineageEvent {
    this.drop(c);
    return { kind: 'retired', from: [c.id], to: [], time };
  }

  /** At the cap: merge near-duplicates, then retire the smallest, stalest clusters down to 90% of the cap. */
  private shrink(time: number): LineageEvent[] {
    const events = this.maintain(time);
    const target = Math.floor(this.options.maxClusters * 0.9);
    if (this.state.live <= target) return events;
    const order = this.liveList().sort((a, b) => a.size - b.size || a.lastSeen - b.lastSeen || a.seq - b.seq);
    for (const c of order) {
      if (this.state.live <= target) break;
      events.push(this.retire(c, time));
    }
    return events;
  }
}
