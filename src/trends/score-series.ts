// NAB-style detector interface: one timestamp,value series in, one anomaly_score per row out,
// computed online (row i sees rows 0..i only), with episode-style reporting.
import { seasonalKey } from './bucket.js';
import { trendConfigSchema } from './config.js';
import { createDetectorState, detectorConfigSchema, stepDetector, type DetectorConfig } from './detector.js';

export interface SeriesRow {
  timestamp: string;
  value: number;
}

export interface ScoreSeriesOptions {
  detector?: Partial<DetectorConfig>;
  /** IANA zone for seasonal keys (default UTC). */
  tz?: string;
  /**
   * After a score is reported, later rows only report when they exceed the running peak of
   * the current episode; an episode ends after this many hours without a new peak. Mirrors
   * the alert logic: an episode alerts when it opens or grows, not on every bucket.
   */
  refractoryHours?: number;
  /**
   * How much the surprise must exceed the episode's peak to report again (0.1: by 10%). Default:
   * the pipeline's `episode.updateMinGrowth`, the growth that makes an open alert emit an update.
   */
  minGrowth?: number;
}

const PIPELINE_UPDATE_MIN_GROWTH = trendConfigSchema.shape.episode.parse(undefined).updateMinGrowth;

/** Parses NAB timestamps ("2015-02-26 21:42:53", UTC) and ISO-8601 strings. */
export function parseTimestamp(s: string): number {
  const iso = s.includes('T') ? s : s.trim().replace(' ', 'T');
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const t = Date.parse(withZone);
  if (Number.isNaN(t)) throw new RangeError(`unparseable timestamp: ${JSON.stringify(s)}`);
  return t;
}

/** anomaly_score in [0, 1] for every row, in order, without look-ahead. */
export function scoreSeries(rows: SeriesRow[], options: ScoreSeriesOptions = {}): number[] {
  if (rows.length === 0) return [];
  const ts = rows.map((r) => parseTimestamp(r.timestamp));
  // The bucket length is configuration in a deployment; here it is the series' first step.
  const stepMin = rows.length > 1 ? Math.max((ts[1]! - ts[0]!) / 60_000, 1) : 60;
  const cfg = detectorConfigSchema.parse({ bucketMinutes: stepMin, ...options.detector });
  const refractory = Math.max(1, Math.round(((options.refractoryHours ?? 24) * 60) / stepMin));
  const minGrowth = options.minGrowth ?? PIPELINE_UPDATE_MIN_GROWTH;
  if (!(minGrowth >= 0 && Number.isFinite(minGrowth))) throw new RangeError(`minGrowth must be a finite number >= 0, got ${minGrowth}`);
  const grow = 1 + minGrowth;
  const state = createDetectorState();
  const out: number[] = new Array<number>(rows.length);
  // Calibrated surprise per row: the episode's peak is kept in the units alerts compare.
  const surprises: number[] = new Array<number>(rows.length);
  // Monotone deque of indices: the max surprise over the previous `refractory` rows.
  const dq: number[] = [];
  let head = 0;
  for (let i = 0; i < rows.length; i++) {
    const v = Number.isFinite(rows[i]!.value) ? Math.max(0, rows[i]!.value) : 0;
    const step = stepDetector(state, seasonalKey(ts[i]!, options.tz).slot, v, cfg);
    const surprise = step.surprise;
    surprises[i] = surprise;
    while (head < dq.length && dq[head]! < i - refractory) head++;
    const peak = head < dq.length ? surprises[dq[head]!]! : 0;
    // An episode reports when it opens or its surprise grows past its recent peak by `grow`, as an
    // open alert updates; otherwise a damped echo. A surge that climbs bucket by bucket is then a
    // few reports, not one per bucket (each one past a window is a false positive to NAB).
    out[i] = surprise > grow * peak ? step.anomalyScore : step.anomalyScore * 0.25;
    while (dq.length > head && surprises[dq[dq.length - 1]!]! <= surprise) dq.pop();
    dq.push(i);
  }
  return out;
}
