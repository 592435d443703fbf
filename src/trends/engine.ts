// Bucket close for many clusters at once: every known cluster is stepped (silent ones with a
// zero count, so their baselines decay and episodes can close), new clusters get fresh state.
import type { ResolvedTrendConfig } from './config.js';
import { createClusterState, dormant, evaluateCluster, type ClusterBucketInput, type ClusterMeta, type ClusterTrendState } from './alerts.js';
import type { TrendEvent } from './episodes.js';
import { bucketStart, nextBucketStart } from './bucket.js';

export interface BucketCloseInput {
  /** Start (ms) of the bucket that just closed. */
  bucket: number;
  /** Wall-clock time of the evaluation; only stamps events. */
  now: number;
  /** Counts for the clusters that had cases in the bucket. */
  counts: readonly ClusterBucketInput[];
  /** Cluster metadata (birth, status, fix time); missing means defaults. */
  meta?: (clusterId: string) => ClusterMeta | undefined;
  /**
   * When a cluster without state here was born, if known (asked once, when its state is created): a
   * cluster silent for longer than the state kept is not young again. Unknown: this bucket.
   */
  birth?: (clusterId: string) => number | undefined;
  /**
   * Drop the state of clusters with no case since this instant and nothing open, cooling down or watched
   * (merged, retired or long-silent clusters would otherwise be stepped on every close for ever).
   */
  forgetSilentBefore?: number;
  /**
   * Since when the caller has counted every case (its replay's start, or the first bucket it saw): a cluster
   * with no state here and an old birth has had no case since then. Silent for longer than the detector's
   * warm-up, it starts from a warm baseline of that silence, so a problem back after weeks (a month-end
   * billing run) is judged against ~0 at once; it used to wait out a week's warm-up with no alert.
   */
  silentSince?: number;
}

/**
 * A known birth only when it makes the cluster old: a young one keeps this bucket as its birth, so its `new`
 * episode starts on a bucket and keeps its id when a restart replays it (the model's birth is a raw event
 * time, and a model restored from an older checkpoint may not know the cluster yet).
 */
function oldBirth(input: BucketCloseInput, clusterId: string, cfg: ResolvedTrendConfig): number | undefined {
  const b = input.birth?.(clusterId);
  return b !== undefined && b < input.bucket - cfg.new.maxAgeHours * 3_600_000 ? b : undefined;
}

/**
 * Evaluates one bucket close for all clusters in `states` plus any new ones in `counts`.
 * Mutates `states` (plain JSON values, safe to persist) and returns the events in cluster order.
 */
export function evaluateBucketClose(
  states: Map<string, ClusterTrendState>,
  input: BucketCloseInput,
  cfg: ResolvedTrendConfig,
): TrendEvent[] {
  const events: TrendEvent[] = [];
  const seen = new Set<string>();
  const metaOf = (id: string): ClusterMeta => input.meta?.(id) ?? {};
  for (const c of input.counts) {
    if (seen.has(c.clusterId)) throw new RangeError(`duplicate counts for cluster ${c.clusterId} in bucket ${input.bucket}`);
    seen.add(c.clusterId);
    let st = states.get(c.clusterId);
    const meta = metaOf(c.clusterId);
    if (!st) {
      const born = meta.firstSeenAt ?? oldBirth(input, c.clusterId, cfg);
      st = createClusterState(c.clusterId, born ?? input.bucket);
      states.set(c.clusterId, st);
      const silence = cfg.warmupBucketsResolved * cfg.bucketMs;
      if (born !== undefined && born < input.bucket - silence && input.silentSince !== undefined && input.bucket - input.silentSince >= silence) {
        for (const e of primeSilence(st, meta, input, cfg)) events.push(e);
      }
    }
    for (const e of evaluateCluster(st, c, meta, input.bucket, input.now, cfg)) events.push(e);
  }
  const forget = input.forgetSilentBefore;
  for (const [id, st] of states) {
    if (seen.has(id)) continue;
    const zero: ClusterBucketInput = { clusterId: id, cases: 0, customers: 0 };
    const meta = metaOf(id);
    for (const e of evaluateCluster(st, zero, meta, input.bucket, input.now, cfg)) events.push(e);
    if (forget !== undefined && dormant(st, forget, input.bucket, cfg, meta)) states.delete(id);
  }
  return events;
}

/**
 * Steps a new state through the warm-up's worth of empty buckets before `input.bucket`: the silence the caller
 * counted (BucketCloseInput.silentSince). Nothing opens on them; the detector is warm, its baseline ~0.
 */
function primeSilence(st: ClusterTrendState, meta: ClusterMeta, input: BucketCloseInput, cfg: ResolvedTrendConfig): TrendEvent[] {
  const events: TrendEvent[] = [];
  const zero: ClusterBucketInput = { clusterId: st.clusterId, cases: 0, customers: 0 };
  for (let b = bucketStart(input.bucket - (cfg.warmupBucketsResolved + 1) * cfg.bucketMs, cfg.bucket, cfg.timeZone); b < input.bucket; b = nextBucketStart(b, cfg.bucket, cfg.timeZone)) {
    events.push(...evaluateCluster(st, zero, meta, b, input.now, cfg));
  }
  return events;
}
