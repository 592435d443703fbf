import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { OnlineClusterer, type LineageEvent } from '../cluster/online.js';
import { Tokenizer } from '../text/tokenize.js';
import { chTime, insertIdempotent, loadLatestSnapshot, saveSnapshot } from '../store/index.js';
import type { Assigner } from './ingest.js';

const MODEL_VERSION = 1;

/**
 * The clustering stage of the pipeline: tokenises masked text, places it with the online clusterer,
 * and checkpoints the model with the offsets it covers. Restored on start, so a replay from the
 * checkpoint rebuilds the same state and the same cluster ids.
 */
export class ClusterAssigner implements Assigner {
  readonly modelVersion = MODEL_VERSION;
  // Same text pipeline as `recur eval clustering --mode online`, so the evaluation measures the product.
  private readonly tokenizer = new Tokenizer({ bigrams: true });
  private readonly offsets: Map<string, bigint>;
  private readonly restoredOffsets: Map<string, bigint>;
  private lineage: LineageEvent[] = [];
  private batchesSinceSnapshot = 0;
  private savedEvents: number;
  private inFlight = 0;
  private snapshotting = false;

  constructor(
    private clusterer: OnlineClusterer,
    offsets: Record<string, string>,
    savedEvents: number,
    private readonly deps: { client: ClickHouseClient; log: Logger; pipeline: string; snapshotEvery: number; now: () => number },
  ) {
    this.offsets = new Map(Object.entries(offsets).map(([k, v]) => [k, BigInt(v)]));
    this.restoredOffsets = new Map(this.offsets);
    this.savedEvents = savedEvents;
  }

  assign(maskedText: string, eventId: string, timeMs: number): { clusterId: string; similarity: number } {
    const a = this.clusterer.assign({ eventId, tokens: this.tokenizer.tokenize(maskedText), time: timeMs, text: maskedText });
    if (a.lineage.length) this.lineage.push(...a.lineage);
    return { clusterId: a.clusterId, similarity: a.similarity };
  }

  coveredThrough(topic: string, partition: number): bigint {
    return this.restoredOffsets.get(`${topic}\u0000${partition}`) ?? -1n;
  }

  noteBatch(topic: string, partition: number, lastOffset: bigint): void {
    const k = `${topic}\u0000${partition}`;
    if ((this.offsets.get(k) ?? -1n) < lastOffset) this.offsets.set(k, lastOffset);
    this.batchesSinceSnapshot++;
  }

  beginBatch(): void {
    this.inFlight++;
  }

  endBatch(): void {
    this.inFlight--;
  }

  /** Live labels, terms and examples (the clusters table lags until the next snapshot). */
  describe(ids: readonly string[]): Map<string, { label: string; topTerms: string[]; examples: string[] }> {
    const out = new Map<string, { label: string; topTerms: string[]; examples: string[] }>();
    for (const c of this.clusterer.describe(ids, { terms: 8, examples: 3 })) {
      const topTerms = this.readable(c.topTerms);
      out.set(c.id, { label: topTerms.slice(0, 3).join(' / '), topTerms, examples: c.examples });
    }
    return out;
  }

  /** Stems back to words ("declin" → "declined"); terms stay distinct. */
  private readable(terms: readonly string[]): string[] {
    return [...new Set(terms.map((t) => this.tokenizer.readable(t)))];
  }

  clusterCount(): number {
    return this.clusterer.liveClusters;
  }

  /**
   * Every `snapshotEvery` batches (or when forced): cluster descriptions, lineage, then the model. Only
   * between batches: with another partition's batch in flight the model holds events not yet stored, and
   * the snapshot's offsets would not cover them (it waits for a quiet moment; forced ones come at the end).
   */
  async maybeSnapshot(force: boolean): Promise<void> {
    if (this.snapshotting || this.inFlight > 0) return;
    if (!force && this.batchesSinceSnapshot < this.deps.snapshotEvery) return;
    const events = this.clusterer.state.events;
    if (events === this.savedEvents) return;
    this.snapshotting = true;
    try {
      await this.snapshot(events);
    } finally {
      this.snapshotting = false;
    }
  }

  private async snapshot(events: number): Promise<void> {
    const { client, pipeline, now } = this.deps;
    const nowMs = now();
    const token = `${pipeline}/${MODEL_VERSION}/${events}`;
    const clusters = this.clusterer.clusters({ terms: 8, examples: 3 }).map((c) => ({
      cluster_id: c.id,
      label: this.readable(c.topTerms).slice(0, 3).join(' / '),
      top_terms: this.readable(c.topTerms),
      examples: c.examples,
      size: c.size,
      first_seen: chTime(c.firstSeen),
      last_seen: chTime(c.lastSeen),
      model_version: MODEL_VERSION,
      state: 'live',
      merged_into: '',
      updated_at: chTime(nowMs),
    }));
    const taken = this.lineage;
    const lineage = taken.map((l) => ({
      model_version: MODEL_VERSION,
      kind: l.kind,
      from_ids: l.from,
      to_ids: l.to,
      similarity: 0,
      reason: l.kind === 'merge' ? 'near-duplicate centroids' : 'small and stale',
      at: chTime(l.time),
    }));
    const gone = lineage.flatMap((l) =>
      l.kind === 'merge' ? l.from_ids.filter((id) => !l.to_ids.includes(id)).map((id) => ({ id, state: 'merged', into: l.to_ids[0] ?? '' })) : l.from_ids.map((id) => ({ id, state: 'retired', into: '' })),
    );
    const goneRows = gone.map((g) => ({ ...clusters[0], cluster_id: g.id, state: g.state, merged_into: g.into, label: '', top_terms: [], examples: [], size: 0, first_seen: chTime(nowMs), last_seen: chTime(nowMs), model_version: MODEL_VERSION, updated_at: chTime(nowMs) }));
    const offsets: Record<string, string> = {};
    for (const [k, v] of this.offsets) offsets[k] = v.toString();
    const state = this.clusterer.snapshot(); // taken now: the inserts below yield to other batches
    await insertIdempotent(client, 'clusters', [...clusters, ...goneRows], `clusters/${token}`);
    await insertIdempotent(client, 'cluster_lineage', lineage, `lineage/${token}`);
    await saveSnapshot(client, { pipeline, modelVersion: MODEL_VERSION, offsets, events, state }, nowMs);
    this.lineage = this.lineage.slice(taken.length);
    this.batchesSinceSnapshot = 0;
    this.savedEvents = events;
    this.deps.log.debug({ events, clusters: clusters.length }, 'model snapshot saved');
  }
}

export async function createAssigner(config: Config, client: ClickHouseClient, log: Logger, now: () => number = Date.now): Promise<ClusterAssigner> {
  const pipeline = config.cluster.pipeline;
  const snap = await loadLatestSnapshot(client, pipeline);
  const deps = { client, log, pipeline, snapshotEvery: config.ingest.snapshotEveryBatches, now };
  if (snap && snap.modelVersion === MODEL_VERSION) {
    log.info({ events: snap.events, pipeline }, 'model restored from snapshot');
    return new ClusterAssigner(OnlineClusterer.restore(snap.state), snap.offsets, snap.events, deps);
  }
  const clusterer = new OnlineClusterer({ maxClusters: config.cluster.maxClusters, vectorizer: { maxNames: config.cluster.maxVocabulary } });
  return new ClusterAssigner(clusterer, {}, 0, deps);
}
