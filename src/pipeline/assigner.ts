import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { DEFAULT_PIPELINE, type Config } from '../config/index.js';
import { OnlineClusterer, type Assignment, type ClusterEvent, type LineageEvent, type ModelCaps, type RerunDecision } from '../cluster/online.js';
import { labelOf, type ClusterSummary } from '../cluster/labels.js';
import { SemanticOnlineClusterer } from '../cluster/semantic-online.js';
import { Tokenizer } from '../text/tokenize.js';
import { createEmbedder, modelDirFor, type CachingEmbedder } from '../text/embed/index.js';
import { birthsFrom, bornPrefix, chTime, goneClusterRows, goneClusters, goneDecisions, insertIdempotent, loadLatestSnapshot, maxBirthSeq, recordBirths, saveSnapshot, type Birth, type ModelSnapshot } from '../store/index.js';
import { MODEL_MAX_AHEAD_MS, type Assigner, type Placement } from './ingest.js';
import type { Located } from './rows.js';
import { readOnce } from '../sources/file.js';
import { partitionKey } from '../sources/types.js';

/** Model versions: what assigned an event (stored with it, part of every dedup token). */
const MODEL_VERSIONS = { none: 1, 'bge-small': 2, minilm: 3 } as const;

/** What the assigner needs of a live clusterer, lexical or by meaning. */
export interface LiveModel {
  readonly events: number;
  readonly liveClusters: number;
  assign(ev: ClusterEvent): Assignment;
  clusters(opts: { terms?: number; examples?: number }): ClusterSummary[];
  describe(ids: readonly string[], opts: { terms?: number; examples?: number }): ClusterSummary[];
  /** A live cluster's first event time, without describing it (describe's is used otherwise). */
  firstSeen?(id: string): number | undefined;
  /** The number the next new cluster's id takes. */
  readonly nextSeq: number;
  /** What every cluster id of this model starts with, before its number (c_ lexical; a pipeline's own, clusterIdPrefix). */
  readonly idPrefix: string;
  /** New clusters take numbers from `seq` on; unused ones below it stay free for events that name theirs (birthSeq). */
  reserve(seq: number): void;
  snapshot(): string;
  prepare?(texts: readonly string[], heartbeat: () => Promise<void>): Promise<void>;
  /** Takes in a batch re-fit's merges and retirements of clusters it holds; returns those applied. */
  applyRerun(decisions: readonly RerunDecision[]): RerunDecision[];
}

export function lexicalModel(c: OnlineClusterer): LiveModel {
  return {
    get events() {
      return c.state.events;
    },
    get liveClusters() {
      return c.liveClusters;
    },
    assign: (ev) => c.assign(ev),
    clusters: (o) => c.clusters(o),
    describe: (ids, o) => c.describe(ids, o),
    firstSeen: (id) => c.firstSeen(id),
    get nextSeq() {
      return c.nextSeq;
    },
    get idPrefix() {
      return c.options.idPrefix;
    },
    reserve: (seq) => c.reserve(seq),
    snapshot: () => c.snapshot(),
    applyRerun: (d) => c.applyRerun(d),
  };
}

/**
 * Assignment by meaning: each batch's texts are embedded first (cached by normalised text, in chunks
 * with a heartbeat between them), the first texts ever seen warm the clusterer up, then each text is
 * placed from its vector. The tokens only label the clusters.
 */
export function semanticModel(c: SemanticOnlineClusterer, embedder: CachingEmbedder, chunk = 256): LiveModel {
  let vectors = new Map<string, Float32Array>();
  return {
    get events() {
      return c.events;
    },
    get liveClusters() {
      return c.liveClusters;
    },
    async prepare(texts, heartbeat) {
      vectors = new Map();
      const todo = [...new Set(texts)];
      for (let i = 0; i < todo.length; i += chunk) {
        const part = todo.slice(i, i + chunk);
        const out = await embedder.embed(part);
        part.forEach((t, j) => vectors.set(t, out[j]!));
        if (i + chunk < todo.length) await heartbeat().catch(() => {});
      }
      if (!c.warmedUp && texts.length > 0) c.warmUp(texts.slice(0, c.warmupSize).map((t) => vectors.get(t)!));
    },
    assign(ev) {
      const v = ev.text === undefined ? undefined : vectors.get(ev.text);
      if (v === undefined) throw new Error('semantic model: assign() without prepare() for this text');
      return c.assign(ev, v);
    },
    clusters: (o) => c.clusters(o),
    describe: (ids, o) => c.describe(ids, o),
    get nextSeq() {
      return c.nextSeq;
    },
    get idPrefix() {
      return c.idPrefix;
    },
    reserve: (seq) => c.reserve(seq),
    snapshot: () => c.snapshot(),
    applyRerun: (d) => c.applyRerun(d),
  };
}

interface Described {
  label: string;
  topTerms: string[];
  examples: string[];
}
/**
 * Placements whose rows are not stored yet, one partition's, in ascending offset order (parallel arrays:
 * appended per event, dropped a stored range at a time, searched only on a re-delivery).
 */
interface Unstored {
  offsets: bigint[];
  placements: Placement[];
}
/** Merges remembered to describe merged-away clusters: a few MB at most. */
const MAX_MERGES_REMEMBERED = 100_000;

/**
 * The clustering stage of the pipeline: tokenises masked text, places it with the online clusterer,
 * and checkpoints the model with the offsets it covers. Restored on start, so a replay from the
 * checkpoint rebuilds the same state and the same cluster ids.
 */
export class ClusterAssigner implements Assigner {
  // Same text pipeline as `recur eval clustering --mode online`, so the evaluation measures the product.
  private readonly tokenizer = new Tokenizer({ bigrams: true });
  /** Token hashes of the event being assigned (reused: assign() is synchronous). */
  private readonly hashes: number[] = [];
  private readonly offsets: Map<string, bigint>;
  private readonly restoredOffsets: Map<string, bigint>;
  /** Per partition: the last offset the model has learned from (placed), stored or not. */
  private readonly learned: Map<string, bigint>;
  /** Per partition: placements learned but whose rows are not stored yet. */
  private readonly unstored = new Map<string, Unstored>();
  private unstoredDropped = 0;
  /** Bound per partition: a partition placed here and then moved to another consumer is never stored here. */
  private readonly maxUnstored: number;
  private lineage: LineageEvent[] = [];
  /** Merged-away id → the id it was merged into, as this process saw the merges (oldest first, bounded). */
  private readonly mergedInto = new Map<string, string>();
  /** Clusters merged or retired as the store has them at start (takeInReruns): id → into ('' retired). */
  private readonly gone = new Map<string, string>();
  private batchesSinceSnapshot = 0;
  private savedEvents: number;
  /** When the last checkpoint was taken (deps.now()): the start counts as one. */
  private savedAt: number;
  /** When the last checkpoint was begun, saved or not. */
  private attemptedAt = -Infinity;
  private inFlight = 0;
  private snapshotting = false;
  /**
   * Per partition: offset → the number of the cluster that event started before a restart (cluster_births),
   * for the events this model has not learned yet. Relearned in another order (partitions interleave
   * differently), the event that starts that cluster again gives it the same id: its stored rows carry it.
   */
  private readonly reborn = new Map<string, Map<bigint, number>>();
  /** Clusters started since the last write of cluster_births. */
  private unrecorded: Birth[] = [];
  private birthsWrite: Promise<void> = Promise.resolve();

  constructor(
    private clusterer: LiveModel,
    restored: Pick<ModelSnapshot, 'offsets' | 'learned' | 'unstored' | 'surfaces'>,
    savedEvents: number,
    private readonly deps: {
      client: ClickHouseClient;
      log: Logger;
      pipeline: string;
      snapshotEvery: number;
      snapshotMinIntervalMs: number;
      /** With anything new, a checkpoint after this long however few chunks came (default: by chunks only). */
      snapshotMaxIntervalMs?: number;
      now: () => number;
      /** Rows per chunk (ingest.maxBatchRows): unstored placements are kept for several chunks' worth. */
      chunkRows?: number;
    },
    readonly modelVersion: number = MODEL_VERSIONS.none,
    /** Clusters born after the checkpoint (cluster_births), their numbers reserved in the model already. */
    births: readonly Birth[] = [],
  ) {
    this.offsets = new Map(Object.entries(restored.offsets).map(([k, v]) => [k, BigInt(v)]));
    this.restoredOffsets = new Map(this.offsets);
    this.learned = new Map(this.offsets);
    for (const [k, v] of Object.entries(restored.learned ?? {})) if (BigInt(v) > (this.learned.get(k) ?? -1n)) this.learned.set(k, BigInt(v));
    for (const [k, list] of Object.entries(restored.unstored ?? {})) {
      this.unstored.set(k, { offsets: list.map(([o]) => BigInt(o)), placements: list.map(([, clusterId, similarity]) => ({ clusterId, similarity })) });
    }
    this.maxUnstored = Math.max(200_000, 8 * (deps.chunkRows ?? 0));
    for (const b of births) {
      // A stdin or pipe run's input is never delivered again: nothing to make again.
      if (readOnce(b.topic)) continue;
      const k = partitionKey(b.topic, b.partition);
      if (b.offset <= (this.learned.get(k) ?? -1n)) continue;
      let m = this.reborn.get(k);
      if (!m) this.reborn.set(k, (m = new Map()));
      m.set(b.offset, b.seq);
    }
    this.tokenizer.restoreSurfaces(restored.surfaces ?? []);
    this.savedEvents = savedEvents;
    this.savedAt = deps.now();
  }

  /** What every cluster id of this model starts with, before its number. */
  get idPrefix(): string {
    return this.clusterer.idPrefix;
  }

  /** The model embeds a batch's texts before placing them (and holds those vectors meanwhile). */
  get embedsFirst(): boolean {
    return this.clusterer.prepare !== undefined;
  }

  async prepare(maskedTexts: readonly string[], heartbeat: () => Promise<void>): Promise<void> {
    await this.clusterer.prepare?.(maskedTexts, heartbeat);
  }

  /**
   * Places an event and learns from it, once per offset: an event at `at` the model has learned from
   * before (its batch was abandoned after placing it, or it is re-delivered, or replayed after a restart)
   * is not learned again. Its earlier placement is returned while its rows are not stored (in the cluster
   * it was merged into since, if this process or the one that wrote the checkpoint saw the merge); once they are, null (the caller has them
   * from ClickHouse). Without `at` it always learns.
   */
  assign(maskedText: string, eventId: string, eventMs: number, at?: Located, arrivedMs = this.deps.now()): Placement | null {
    // The model's clock (a cluster's last event, when small stale ones retire) goes at most a day past the
    // event's arrival (the stored one on a replay, so the same either way): one mistyped year would retire
    // every small cluster at the next maintenance.
    const timeMs = Math.min(eventMs, arrivedMs + MODEL_MAX_AHEAD_MS);
    if (!at) return this.learn(maskedText, eventId, timeMs);
    const k = partitionKey(at.topic, at.partition);
    if (at.offset <= (this.learned.get(k) ?? -1n)) return this.recall(k, at.offset);
    const placed = this.learn(maskedText, eventId, timeMs, at, k);
    this.learned.set(k, at.offset);
    let pending = this.unstored.get(k);
    if (!pending) this.unstored.set(k, (pending = { offsets: [], placements: [] }));
    pending.offsets.push(at.offset);
    pending.placements.push(placed);
    if (pending.offsets.length > this.maxUnstored) {
      // A partition this process placed and never stored (it moved to another consumer): forget the oldest.
      const drop = pending.offsets.length - this.maxUnstored;
      pending.offsets.splice(0, drop);
      pending.placements.splice(0, drop);
      if (this.unstoredDropped++ === 0) this.deps.log.warn({ partition: at.partition, topic: at.topic }, 'unstored placements over the cap: the oldest are forgotten');
    }
    return placed;
  }

  /** The last offset of a partition the model has learned from (-1n: none). */
  learnedThrough(topic: string, partition: number): bigint {
    return this.learned.get(partitionKey(topic, partition)) ?? -1n;
  }

  private recall(k: string, offset: bigint): Placement | null {
    const pending = this.unstored.get(k);
    if (!pending) return null;
    const i = firstAbove(pending.offsets, offset) - 1;
    if (i < 0 || pending.offsets[i] !== offset) return null;
    const p = pending.placements[i]!;
    const live = this.resolve(p.clusterId);
    return live === p.clusterId ? p : { clusterId: live, similarity: p.similarity };
  }

  private learn(maskedText: string, eventId: string, timeMs: number, at?: Located, k?: string): Placement {
    const tokens = this.tokenizer.tokenize(maskedText, this.hashes);
    const reborn = k === undefined ? undefined : this.reborn.get(k);
    const birthSeq = reborn?.get(at!.offset);
    if (birthSeq !== undefined) {
      reborn!.delete(at!.offset);
      if (reborn!.size === 0) this.reborn.delete(k!);
    }
    const ev = { eventId, tokens, hashes: this.hashes, time: timeMs, text: maskedText, ...(birthSeq === undefined ? {} : { birthSeq }) };
    const a = this.clusterer.assign(ev);
    // A cluster born again under its recorded number is recorded already; any other is recorded before rows name it.
    if (a.born && a.born.seq !== birthSeq) {
      this.unrecorded.push({ clusterId: a.born.id, seq: a.born.seq, topic: at?.topic ?? '', partition: at?.partition ?? -1, offset: at?.offset ?? -1n, bornAtMs: this.deps.now() });
    }
    // Born again (relearned after the checkpoint) under an id a re-run has merged or retired since: the re-run's
    // decision applies to it now, as to the clusters the checkpoint held.
    const decided = a.born && a.born.seq === birthSeq ? this.gone.get(a.born.id) : undefined;
    if (decided !== undefined && this.clusterer.applyRerun([{ id: a.born!.id, into: decided }]).length > 0 && decided !== '') this.mergedInto.set(a.born!.id, decided);
    // Once every cluster born after the checkpoint is made again, the decisions are not needed.
    if (this.reborn.size === 0 && this.gone.size > 0) this.gone.clear();
    if (a.lineage.length) {
      this.lineage.push(...a.lineage);
      for (const g of goneClusters(a.lineage)) {
        if (g.state !== 'merged' || g.into === '') continue;
        if (this.mergedInto.size >= MAX_MERGES_REMEMBERED) this.mergedInto.delete(this.mergedInto.keys().next().value!);
        this.mergedInto.set(g.id, g.into);
      }
    }
    return { clusterId: decided ? this.resolve(a.clusterId) : a.clusterId, similarity: a.similarity };
  }

  /**
   * Records the clusters started so far (cluster_births), once every write of them started before has
   * finished: a chunk's rows are inserted only after this, so no stored row names a cluster whose number a
   * restart could hand out again. A failed write keeps its births for the next call.
   */
  flushBirths(): Promise<void> {
    const run = this.birthsWrite.catch(() => {}).then(() => this.writeBirths());
    this.birthsWrite = run;
    return run;
  }

  private async writeBirths(): Promise<void> {
    if (this.unrecorded.length === 0) return;
    const births = this.unrecorded;
    this.unrecorded = [];
    try {
      await recordBirths(this.deps.client, this.deps.pipeline, this.modelVersion, births);
    } catch (err) {
      this.unrecorded = births.concat(this.unrecorded);
      throw err;
    }
  }

  coveredThrough(topic: string, partition: number): bigint {
    return this.restoredOffsets.get(partitionKey(topic, partition)) ?? -1n;
  }

  noteBatch(topic: string, partition: number, lastOffset: bigint): void {
    const k = partitionKey(topic, partition);
    if ((this.offsets.get(k) ?? -1n) < lastOffset) this.offsets.set(k, lastOffset);
    this.forgetStored(topic, partition, lastOffset);
    this.batchesSinceSnapshot++;
  }

  /** A partition's rows are stored through `lastOffset` (a partition's ranges are stored in order): their placements are not needed. */
  forgetStored(topic: string, partition: number, lastOffset: bigint): void {
    const k = partitionKey(topic, partition);
    const pending = this.unstored.get(k);
    if (!pending) return;
    const n = firstAbove(pending.offsets, lastOffset);
    if (n === pending.offsets.length) this.unstored.delete(k);
    else if (n > 0) {
      pending.offsets.splice(0, n);
      pending.placements.splice(0, n);
    }
  }

  /**
   * Both bounds: a checkpoint of a large model is tens of MB of JSON (20 MB at 8,000 clusters), so at
   * backfill speed a batch count alone would checkpoint every few seconds. A slow or quiet stream may never
   * reach the count: with anything written since the last checkpoint, snapshotMaxIntervalMs is enough.
   */
  snapshotDue(): boolean {
    const now = this.deps.now();
    const since = now - this.savedAt;
    return (
      !this.snapshotting &&
      this.batchesSinceSnapshot > 0 &&
      since >= this.deps.snapshotMinIntervalMs &&
      // A checkpoint that failed (the store down) is not tried again before the interval either.
      now - this.attemptedAt >= this.deps.snapshotMinIntervalMs &&
      (this.batchesSinceSnapshot >= this.deps.snapshotEvery || since >= (this.deps.snapshotMaxIntervalMs ?? Infinity))
    );
  }

  beginBatch(): void {
    this.inFlight++;
  }

  endBatch(): void {
    this.inFlight--;
  }

  /**
   * Live labels, terms and examples (the clusters table lags until the next snapshot). A cluster merged
   * away (a backfill often merges one between its alert and the alert's routing) is described by the
   * cluster it was merged into: the merge found them to be the same problem.
   */
  describe(ids: readonly string[]): Map<string, Described> {
    const liveOf = new Map(ids.map((id) => [id, this.resolve(id)]));
    const live = new Map<string, Described>();
    for (const c of this.clusterer.describe([...new Set(liveOf.values())], { terms: 8, examples: 3 })) {
      const topTerms = this.readable(c.topTerms);
      live.set(c.id, { label: labelOf(topTerms), topTerms, examples: c.examples });
    }
    const out = new Map<string, Described>();
    for (const [id, to] of liveOf) {
      const d = live.get(to);
      if (d) out.set(id, d);
    }
    return out;
  }

  /** When the model first saw the cluster an id lives in (event time), if it still knows it. */
  firstSeen(id: string): number | undefined {
    const live = this.resolve(id);
    return this.clusterer.firstSeen ? this.clusterer.firstSeen(live) : this.clusterer.describe([live], { terms: 0, examples: 0 })[0]?.firstSeen;
  }

  /**
   * Takes in what batch re-fits (`recur rerun`, run while the pipeline was stopped) decided about clusters the
   * restored model still holds: without this, a cluster they merged or retired took new cases again and was
   * listed live at the next checkpoint. Returns how many clusters it changed.
   */
  async takeInReruns(): Promise<number> {
    const decisions = await goneDecisions(this.deps.client);
    // Kept for the clusters born after the checkpoint, which the replay makes again (learn()), while there are any.
    if (this.reborn.size > 0) for (const d of decisions) this.gone.set(d.id, d.into);
    const applied = this.clusterer.applyRerun(decisions);
    for (const d of applied) if (d.into !== '') this.mergedInto.set(d.id, d.into);
    if (applied.length > 0) {
      const merged = applied.filter((d) => d.into !== '').length;
      this.deps.log.info({ merged, retired: applied.length - merged }, 'clusters a re-run merged or retired are taken out of the live model');
    }
    return applied.length;
  }

  /** The cluster an id now lives in, following the merges this process has seen. */
  private resolve(id: string): string {
    let at = id;
    for (let hops = 0; hops < 64; hops++) {
      const next = this.mergedInto.get(at);
      if (next === undefined) break;
      at = next;
    }
    return at;
  }

  /** Stems back to words ("declin" → "declined"); terms stay distinct. */
  private readable(terms: readonly string[]): string[] {
    return [...new Set(terms.map((t) => this.tokenizer.readable(t)))];
  }

  clusterCount(): number {
    return this.clusterer.liveClusters;
  }

  /**
   * Every `snapshotEvery` written chunks but at most once per `snapshotMinIntervalMs` (or when forced):
   * cluster descriptions, lineage, then the model. Only between batches: with another partition's batch
   * in flight the model holds events not yet stored, and the snapshot's offsets would not cover them (it
   * waits for a quiet moment; forced ones come at the end).
   */
  async maybeSnapshot(force: boolean): Promise<void> {
    if (this.snapshotting || this.inFlight > 0) return;
    if (!force && !this.snapshotDue()) return;
    const events = this.clusterer.events;
    if (events === this.savedEvents) return;
    this.snapshotting = true;
    this.attemptedAt = this.deps.now();
    try {
      await this.snapshot(events);
    } finally {
      this.snapshotting = false;
    }
  }

  private async snapshot(events: number): Promise<void> {
    const { client, pipeline, now } = this.deps;
    const nowMs = now();
    // The batches this checkpoint covers: those stored while it is written count towards the next one.
    const covered = this.batchesSinceSnapshot;
    const token = `${pipeline}/${this.modelVersion}/${events}`;
    const live = this.clusterer.clusters({ terms: 8, examples: 3 });
    const surfaces = this.tokenizer.surfacesOf(live.flatMap((c) => c.topTerms));
    const clusters = live.map((c) => ({
      cluster_id: c.id,
      label: labelOf(this.readable(c.topTerms)),
      top_terms: this.readable(c.topTerms),
      examples: c.examples,
      size: c.size,
      first_seen: chTime(c.firstSeen),
      last_seen: chTime(c.lastSeen),
      model_version: this.modelVersion,
      state: 'live',
      merged_into: '',
      updated_at: chTime(nowMs),
    }));
    // A copy: batches may run (and merge or retire clusters) while this checkpoint is written; theirs stay queued.
    const taken = this.lineage.slice();
    const lineage = taken.map((l) => ({
      model_version: this.modelVersion,
      kind: l.kind,
      from_ids: l.from,
      to_ids: l.to,
      similarity: 0,
      reason: l.kind === 'merge' ? 'near-duplicate centroids' : 'small and stale',
      at: chTime(l.time),
    }));
    const gone = goneClusters(taken);
    const offsets: Record<string, string> = {};
    for (const [k, v] of this.offsets) offsets[k] = v.toString();
    // What the model learned past `offsets` (a batch abandoned after placing its events): restored with it,
    // so a replay after a restart reuses those placements instead of learning the events twice.
    const learned: Record<string, string> = {};
    for (const [k, v] of this.learned) learned[k] = v.toString();
    // Each through the merges seen so far: a restarted process does not know them, and would store the rows in a cluster merged away.
    const unstored: Record<string, [string, string, number][]> = {};
    for (const [k, m] of this.unstored) unstored[k] = m.offsets.map((o, i) => [o.toString(), this.resolve(m.placements[i]!.clusterId), m.placements[i]!.similarity]);
    // Births the next restart must read: after this model's (those it has not made yet), and those still to be
    // made again. Taken with the state: a batch running during the writes below makes clusters this state lacks.
    let from = this.clusterer.nextSeq;
    for (const [k, m] of this.reborn) {
      const through = this.learned.get(k) ?? -1n;
      for (const [o, seq] of m) if (o > through && seq < from) from = seq;
    }
    const state = this.clusterer.snapshot(); // taken now: the reads and inserts below yield to other batches
    // Every batch before this checkpoint is stored (none was in flight), so the gone clusters' stored rows are complete.
    const known = this.describe(gone.filter((g) => g.state === 'merged').map((g) => g.id));
    const goneRows = await goneClusterRows(client, gone, { model_version: this.modelVersion, updated_at: chTime(nowMs) }, known);
    await insertIdempotent(client, 'clusters', [...clusters, ...goneRows], `clusters/${token}`);
    await insertIdempotent(client, 'cluster_lineage', lineage, `lineage/${token}`);
    await saveSnapshot(client, { pipeline, modelVersion: this.modelVersion, offsets, learned, unstored, surfaces, birthsFrom: from, events, state }, nowMs);
    this.lineage = this.lineage.slice(taken.length);
    this.batchesSinceSnapshot -= covered;
    this.savedEvents = events;
    this.savedAt = nowMs;
    this.deps.log.debug({ events, clusters: clusters.length }, 'model snapshot saved');
  }
}

/** Index of the first element of ascending `xs` above `x` (xs.length if none). */
function firstAbove(xs: readonly bigint[], x: bigint): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The id prefix of a new model of `pipeline`: the model kind's own (c_ lexical, s_ / m_ by meaning), and for any
 * pipeline but the default its name and a ':' after it (c_eu:0). The tables that count and describe clusters do not know
 * pipelines: consumers that share one server store each run a pipeline of their own, and ids numbered from 0 by
 * each would name two problems at once. A restored model keeps the prefix it was created with.
 */
export function clusterIdPrefix(kind: string, pipeline: string): string {
  // ':' follows the name: no pipeline name holds one, and no other id does (`recur rerun` names its new
  // clusters c_v2_0…, which `_` after a pipeline named v2 gave too).
  return pipeline === DEFAULT_PIPELINE ? kind : `${kind}${pipeline}:`;
}

/**
 * The configured live clusterer, restored from the pipeline's latest snapshot of the same model version.
 * With `cluster.embedder` set, events are placed by meaning; when that model is not installed here the
 * pipeline says why and clusters lexically (a different model version, so ids and snapshots never mix).
 */
export async function createAssigner(config: Config, client: ClickHouseClient, log: Logger, now: () => number = Date.now): Promise<ClusterAssigner> {
  const pipeline = config.cluster.pipeline;
  const deps = {
    client,
    log,
    pipeline,
    snapshotEvery: config.ingest.snapshotEveryBatches,
    snapshotMinIntervalMs: config.ingest.snapshotMinIntervalMs,
    snapshotMaxIntervalMs: config.ingest.snapshotMaxIntervalMs,
    now,
    chunkRows: config.ingest.maxBatchRows,
  };
  const kind = config.cluster.embedder;
  let embedder: CachingEmbedder | null = null;
  if (kind !== 'none') {
    const made = await createEmbedder({ kind, modelDir: modelDirFor(kind, config.cluster.modelDir) });
    if (made.embedder) embedder = made.embedder;
    else log.warn({ embedder: kind, reason: made.reason }, 'embedder unavailable: clustering lexically');
  }
  const version = embedder ? MODEL_VERSIONS[kind] : MODEL_VERSIONS.none;
  const snap = await loadLatestSnapshot(client, pipeline, version);
  const restored = snap && snap.modelVersion === version ? snap : null;
  if (restored) log.info({ events: restored.events, pipeline, model_version: version }, 'model restored from snapshot');
  // The configured bounds apply to a restored model too (they used to be the first run's for good).
  const caps = { maxClusters: config.cluster.maxClusters, maxVocabulary: config.cluster.maxVocabulary };
  const inForce = (have: Required<ModelCaps>) => {
    if (have.maxClusters !== caps.maxClusters) {
      log.warn({ configured: caps.maxClusters, in_force: have.maxClusters }, 'cluster.maxClusters is below the cluster slots the restored model uses: it keeps its own cap (a new store starts with the configured one)');
    }
  };
  if (embedder) {
    const c = restored
      ? SemanticOnlineClusterer.restore(restored.state, caps)
      : // Ids of their own per embedder: a store that has run with both never gives one id to two problems.
        new SemanticOnlineClusterer(embedder.dimensions, { maxClusters: config.cluster.maxClusters, maxVocabulary: config.cluster.maxVocabulary, idPrefix: (await bornPrefix(client, pipeline, version)) ?? clusterIdPrefix(kind === 'minilm' ? 'm_' : 's_', pipeline) });
    inForce(c.caps);
    const model = semanticModel(c, embedder);
    return takeInReruns(new ClusterAssigner(model, restored ?? { offsets: {} }, restored?.events ?? 0, deps, version, await reserveBorn(client, model, pipeline, version, restored, log)));
  }
  const c = restored
    ? OnlineClusterer.restore(restored.state, caps)
    : // With births but no checkpoint (stopped before its first), the prefix its births carry: its rows have those ids.
      new OnlineClusterer({ maxClusters: config.cluster.maxClusters, vectorizer: { maxNames: config.cluster.maxVocabulary }, idPrefix: (await bornPrefix(client, pipeline, version)) ?? clusterIdPrefix('c_', pipeline) });
  inForce(c.caps);
  const model = lexicalModel(c);
  return takeInReruns(new ClusterAssigner(model, restored ?? { offsets: {} }, restored?.events ?? 0, deps, version, await reserveBorn(client, model, pipeline, version, restored, log)));
}

/**
 * The model takes in the re-runs made since its checkpoint: those of clusters it holds now, and those of clusters
 * born after the checkpoint as the replay makes them again (without a checkpoint, it holds none yet).
 */
async function takeInReruns(assigner: ClusterAssigner): Promise<ClusterAssigner> {
  await assigner.takeInReruns();
  return assigner;
}

/**
 * Clusters born after the checkpoint (or since the start, without one): their numbers are reserved, so
 * new clusters never take an id stored rows give another problem, and the events that started them give
 * them their ids again when relearned (ClusterAssigner's `reborn`).
 */
async function reserveBorn(client: ClickHouseClient, model: LiveModel, pipeline: string, version: number, restored: ModelSnapshot | null, log: Logger): Promise<Birth[]> {
  model.reserve((await maxBirthSeq(client, pipeline, version)) + 1);
  const births = await birthsFrom(client, pipeline, version, restored?.birthsFrom ?? 0);
  if (births.length > 0) log.info({ clusters: births.length, model_version: version }, 'clusters born after the checkpoint keep their ids when relearned');
  return births;
}
