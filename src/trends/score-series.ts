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

/** Empty buckets a gap between two rows may hold (a year of 5-minute buckets). */
const MAX_GAP_BUCKETS = 105_120;

/** The largest value a series may hold: counts per bucket; past ~1e155 the detector's arithmetic overflowed. */
export const MAX_SERIES_VALUE = 1e15;

/** anomaly_score in [0, 1] for every row, in order, without look-ahead. */
export function scoreSeries(rows: SeriesRow[], options: ScoreSeriesOptions = {}): number[] {
  if (rows.length === 0) return [];
  // Rows are numbered from 1 (data rows, after a header) in what is refused.
  const ts = rows.map((r, i) => {
    try {
      return parseTimestamp(r.timestamp);
    } catch (err) {
      throw new RangeError(`data row ${i + 1}: ${(err as Error).message}`);
    }
  });
  // The bucket length is configuration in a deployment; here it is the series' smallest step. A longer step is
  // buckets without a row, counted as 0 (a count series exported without its empty buckets); it must be a whole
  // number of buckets, give or take a tenth of one (timestamps a second off).
  let bucketMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < ts.length; i++) {
    const step = ts[i]! - ts[i - 1]!;
    // Scored online in order, one row per bucket: a row not after the one before would be another bucket.
    if (!(step > 0)) throw new RangeError(`data row ${i + 1}: timestamp ${rows[i]!.timestamp} is not after the row before it (rows must be in time order, one per bucket)`);
    bucketMs = Math.min(bucketMs, step);
  }
  if (!Number.isFinite(bucketMs)) bucketMs = 3_600_000;
  const missing = new Array<number>(rows.length).fill(0);
  for (let i = 1; i < ts.length; i++) {
    const step = ts[i]! - ts[i - 1]!;
    const k = Math.round(step / bucketMs);
    if (Math.abs(step - k * bucketMs) > bucketMs / 10) {
      throw new RangeError(`data row ${i + 1}: ${step / 60_000} minutes after the row before it, not a whole number of the series' bucket (${bucketMs / 60_000} minutes, its smallest step)`);
    }
    // Each empty bucket is a step of the detector: a gap of years in minutes would take minutes to step through.
    if (k - 1 > MAX_GAP_BUCKETS) throw new RangeError(`data row ${i + 1}: ${k - 1} buckets without a row before it (at most ${MAX_GAP_BUCKETS}); score the parts apart`);
    missing[i] = k - 1;
  }
  const stepMin = Math.max(bucketMs / 60_000, 1);
  const cfg = detectorConfigSchema.parse({ bucketMinutes: stepMin, ...options.detector });
  const refractory = Math.max(1, Math.round(((options.refractoryHours ?? 24) * 60) / stepMin));
  const minGrowth = options.minGrowth ?? PIPELINE_UPDATE_MIN_GROWTH;
  if (!(minGrowth >= 0 && Number.isFinite(minGrowth))) throw new RangeError(`minGrowth must be a finite number >= 0, got ${minGrowth}`);
  const grow = 1 + minGrowth;
  const state = createDetectorState();
  const out: number[] = new Array<number>(rows.length);
  // Monotone deque over buckets (rows and the empty buckets between them): positions and calibrated surprises,
  // the max surprise over the previous `refractory` buckets at its head. The episode's peak is kept in the
  // units alerts compare.
  const dqPos: number[] = [];
  const dqSurprise: number[] = [];
  let head = 0;
  let pos = -1;
  const bucket = (t: number, v: number): number => {
    pos++;
    const step = stepDetector(state, seasonalKey(t, options.tz).slot, v, cfg);
    const surprise = step.surprise;
    while (head < dqPos.length && dqPos[head]! < pos - refractory) head++;
    const peak = head < dqPos.length ? dqSurprise[head]! : 0;
    while (dqPos.length > head && dqSurprise[dqSurprise.length - 1]! <= surprise) {
      dqPos.pop();
      dqSurprise.pop();
    }
    dqPos.push(pos);
    dqSurprise.push(surprise);
    // An episode reports when it opens or its surprise grows past its recent peak by `grow`, as an
    // open alert updates; otherwise a damped echo. A surge that climbs bucket by bucket is then a
    // few reports, not one per bucket (each one past a window is a false positive to NAB).
    return surprise > grow * peak ? step.anomalyScore : step.anomalyScore * 0.25;
  };
  for (let i = 0; i < rows.length; i++) {
    const v = Number.isFinite(rows[i]!.value) ? Math.max(0, rows[i]!.value) : 0;
    // Squared in the dispersion estimate: from ~1e155 that overflows, and every score after it was NaN.
    if (v > MAX_SERIES_VALUE) throw new RangeError(`data row ${i + 1}: value ${rows[i]!.value} is beyond ${MAX_SERIES_VALUE} (a count per bucket)`);
    // Buckets without a row: learnt from, and remembered, as empty ones; not scored (they have no row).
    for (let j = missing[i]!; j >= 1; j--) bucket(ts[i]! - j * bucketMs, 0);
    out[i] = bucket(ts[i]!, v);
  }
  return out;
}
