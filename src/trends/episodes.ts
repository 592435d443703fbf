// Alert episodes: one open episode per cluster+kind with a deterministic id, updated while it
// grows, closed after k quiet buckets, then a cooldown before the same kind may open again.
import { createHash } from 'node:crypto';

export type AlertKind = 'new' | 'spike' | 'sustained_growth' | 'regression';
export const ALERT_KINDS: readonly AlertKind[] = ['new', 'spike', 'sustained_growth', 'regression'];

export interface Episode {
  /** sha256(clusterId, kind, startBucket), 16 hex chars: a replay yields the same id. */
  id: string;
  clusterId: string;
  kind: AlertKind;
  status: 'open' | 'closed';
  /** Bucket start (ms) of the first bucket of the episode. */
  startBucket: number;
  /** Bucket start of the latest bucket folded in. */
  lastBucket: number;
  openedAt: number;
  updatedAt: number;
  closedAt: number | null;
  /** Distinct cases observed and expected over the episode's buckets. */
  observed: number;
  expected: number;
  /** Latest bucket's score (calibrated surprise or growth evidence, kind-dependent). */
  score: number;
  peakScore: number;
  /** Largest single-bucket count, and when. */
  peakObserved: number;
  peakBucket: number;
  /** Lower bound on distinct customers involved (exact when customer ids are supplied). */
  customers: number;
  buckets: number;
  quietBuckets: number;
}

export interface TrendEvent {
  type: 'opened' | 'updated' | 'closed';
  episode: Episode;
}

export function episodeId(clusterId: string, kind: AlertKind, startBucket: number): string {
  return createHash('sha256').update(`${clusterId}\u0000${kind}\u0000${startBucket}`).digest('hex').slice(0, 16);
}

/** What one bucket contributes to an episode. */
export interface EpisodeSample {
  bucket: number;
  now: number;
  observed: number;
  expected: number;
  score: number;
  customers: number;
}

/** `observed` and `expected`: since `startBucket` (default: the opening bucket's own, when the episode starts with it). */
export function openEpisode(clusterId: string, kind: AlertKind, startBucket: number, s: EpisodeSample, observed = s.observed, expected = s.expected): Episode {
  return {
    id: episodeId(clusterId, kind, startBucket),
    clusterId,
    kind,
    status: 'open',
    startBucket,
    lastBucket: s.bucket,
    openedAt: s.now,
    updatedAt: s.now,
    closedAt: null,
    observed,
    expected,
    score: s.score,
    peakScore: s.score,
    peakObserved: s.observed,
    peakBucket: s.bucket,
    customers: s.customers,
    buckets: 1,
    quietBuckets: 0,
  };
}

/**
 * Fold one more bucket into an open episode. `active` says whether the bucket still meets the
 * kind's condition; returns 'updated' when the peak grew by `minGrowth`, 'closed' after
 * `quietLimit` quiet buckets in a row, else null.
 */
export function advanceEpisode(
  ep: Episode,
  s: EpisodeSample,
  active: boolean,
  quietLimit: number,
  minGrowth: number,
): 'updated' | 'closed' | null {
  ep.lastBucket = s.bucket;
  ep.buckets += 1;
  ep.observed += s.observed;
  ep.expected += s.expected;
  ep.score = s.score;
  ep.customers = Math.max(ep.customers, s.customers);
  ep.quietBuckets = active ? 0 : ep.quietBuckets + 1;
  if (ep.quietBuckets >= quietLimit) {
    ep.status = 'closed';
    ep.closedAt = s.now;
    ep.updatedAt = laterThan(ep.updatedAt, s.now);
    return 'closed';
  }
  let grew = false;
  if (s.observed > ep.peakObserved * (1 + minGrowth) && active) {
    ep.peakObserved = s.observed;
    ep.peakBucket = s.bucket;
    grew = true;
  }
  if (s.score > ep.peakScore * (1 + minGrowth) && active) {
    ep.peakScore = s.score;
    grew = true;
  }
  if (grew) ep.updatedAt = laterThan(ep.updatedAt, s.now);
  return grew ? 'updated' : null;
}

/**
 * `now`, or a millisecond past the episode's last version when that is not behind: every event of an episode
 * carries a later updatedAt than the one before, though a backfill evaluates many buckets in one millisecond.
 * Stored as trend_alerts.updated_at and sent as the alert's version, a close that shared its millisecond with the
 * opening was not re-sent after a restart (the sink had the opening's version, which equalled the stored one).
 */
export function laterThan(updatedAt: number, now: number): number {
  return now > updatedAt ? now : updatedAt + 1;
}

/** A copy for emitting, so later mutation of the live episode does not alter emitted events. */
export function snapshot(ep: Episode): Episode {
  return { ...ep };
}
