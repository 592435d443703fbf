// Trend configuration: one zod schema with defaults for bucketing, the detector, each alert
// kind's open/close rules, customer gates and episode lifecycle.
import { z } from 'zod';
import { type BucketSpec, nominalBucketMs } from './bucket.js';
import { detectorConfigSchema, type DetectorConfig } from './detector.js';

/**
 * Detector settings an operator overrides: each optional, and without the detector's defaults
 * (zod's partial() keeps them, so one setting given would bring back every default, bucketMinutes
 * and the pipeline's own included).
 */
const detectorOverridesSchema = z.object(
  Object.fromEntries(
    Object.entries(detectorConfigSchema.shape).map(([key, field]) => [key, (field instanceof z.ZodDefault ? field.unwrap() : field).optional()]),
  ),
) as unknown as z.ZodType<Partial<DetectorConfig>>;

const bucketSchema = z.union([
  z.enum(['hour', 'day', 'week']),
  z.object({ minutes: z.number().int().positive() }),
]);

export const trendConfigSchema = z.object({
  /** Event-time bucket the counts are kept in. */
  bucket: bucketSchema.default('hour'),
  /** IANA zone for day/week buckets and hour-of-day / day-of-week seasonality. */
  timeZone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'timeZone must be an IANA time zone, e.g. "Europe/Berlin"'),
  /**
   * Detector settings over PIPELINE_DETECTOR_DEFAULTS; bucketMinutes is derived from `bucket`
   * unless given.
   */
  detector: detectorOverridesSchema.default({}),
  /**
   * How long a cluster's detector must have counted (a week) before spike / growth alerts; young clusters get
   * `new`. Counted in buckets of the configured size (168 hourly, 7 daily, 1 weekly, 2,016 of 5 minutes): in
   * buckets alone, a day bucket waited 168 days, and a restart's 28-day rebuild never warmed again.
   */
  warmupHours: z.number().nonnegative().default(168),
  /** The warm-up in buckets, when set (overrides warmupHours). */
  warmupBuckets: z.number().int().nonnegative().optional(),
  gates: z
    .object({
      /** Distinct customers an episode needs before it opens: one customer writing twenty times is not a trend. */
      minCustomers: z.number().int().positive().default(3),
      /** Cases above expectation an episode needs before it opens. */
      minExcessCases: z.number().nonnegative().default(3),
      /**
       * A spike's distinct-customer count must itself be this surprising (-log10 p) against the
       * expectation. At 3, with the pipeline's NB2 variance (narrower quiet-hour tails), one customer's
       * burst of 13 cases in an hour expecting 0.33 alerted because three other customers wrote in it
       * too (p = 10^-3.5); bench:trends seeds 7 and 9 alerted 2 and 1 such bursts, none at 4.
       */
      customerSurprise: z.number().nonnegative().default(4),
    })
    .default({ minCustomers: 3, minExcessCases: 3, customerSurprise: 4 }),
  new: z
    .object({
      /** A cluster is young for this long after it was first seen. */
      maxAgeHours: z.number().positive().default(72),
      minCases: z.number().int().positive().default(5),
      minCustomers: z.number().int().positive().default(3),
    })
    .default({ maxAgeHours: 72, minCases: 5, minCustomers: 3 }),
  spike: z
    .object({
      /**
       * Calibrated surprise (-log10 p) that opens a spike on one bucket or a short burst. At 5
       * these two scales raised half the false episodes of bench:trends yet found almost no surge
       * the surge CUSUM did not (seeds 7 and 8: recall 0.907 / 0.919 either way, false episodes
       * per 1,000 cluster-days 0.90 / 0.90 at 5, 0.50 / 0.61 at 6); at 6 a single bucket still
       * opens one when it is a one-in-a-million count for that hour.
       */
      openSurprise: z.number().positive().default(6),
      /** Surprise under which a bucket counts as quiet for closing. */
      closeSurprise: z.number().nonnegative().default(1.5),
      /** Observed / expected the opening bucket must reach. */
      minRatio: z.number().positive().default(2),
      /**
       * Surge CUSUM evidence (log10 likelihood ratio, see detector surgeShift) that opens a spike,
       * with as much evidence from distinct customers. A CUSUM with threshold h raises a false
       * alarm at most once per 10^h buckets on average (Lorden 1971; a loose bound): 4 is once
       * per ~14 months of hours, against a budget of 1 false episode per 1,000 cluster-days
       * shared with the other scales. bench:trends measures the whole: 0.72-0.82 false episodes
       * per 1,000 cluster-days at 4 (seeds 7-9), with the pipeline detector defaults below.
       */
      openEvidence: z.number().positive().default(4),
    })
    .default({ openSurprise: 6, closeSurprise: 1.5, minRatio: 2, openEvidence: 4 }),
  growth: z
    .object({
      /** CUSUM evidence (log10 likelihood ratio) that opens sustained growth. */
      openEvidence: z.number().positive().default(4),
      /** Evidence under which a bucket counts as quiet. */
      closeEvidence: z.number().nonnegative().default(1),
      /** Buckets the evidence must have been accumulating. */
      minBuckets: z.number().int().positive().default(4),
      /** Observed / expected over the accumulating run. */
      minRatio: z.number().positive().default(1.3),
    })
    .default({ openEvidence: 4, closeEvidence: 1, minBuckets: 4, minRatio: 1.3 }),
  regression: z
    .object({
      /** Stragglers right after a fix are expected; watch starts after this. */
      graceHours: z.number().nonnegative().default(24),
      /** Watch ends this long after the fix. */
      watchDays: z.number().positive().default(90),
      /** Rolling window (buckets) the returning volume is summed over. */
      windowBuckets: z.number().int().positive().default(24),
      minCases: z.number().int().positive().default(3),
      minCustomers: z.number().int().positive().default(2),
      /** Window volume must also reach this fraction of the pre-fix expected volume. */
      fractionOfPreFix: z.number().nonnegative().default(0.25),
    })
    .default({ graceHours: 24, watchDays: 90, windowBuckets: 24, minCases: 3, minCustomers: 2, fractionOfPreFix: 0.25 }),
  episode: z
    .object({
      /** Consecutive quiet buckets that close an episode. */
      quietBuckets: z.number().int().positive().default(3),
      /** After closing, the same cluster+kind cannot open again for this long. */
      cooldownHours: z.number().nonnegative().default(24),
      /** Relative growth of the peak (count or score) that emits an `updated` event. */
      updateMinGrowth: z.number().nonnegative().default(0.1),
    })
    .default({ quietBuckets: 3, cooldownHours: 24, updateMinGrowth: 0.1 }),
});

export type TrendConfigInput = z.input<typeof trendConfigSchema>;
export type TrendConfig = z.infer<typeof trendConfigSchema> & { bucket: BucketSpec };

/**
 * Where the pipeline's per-cluster detector departs from the detector's generic defaults (which
 * `recur detect` uses on arbitrary series). A surge of a few hours leaked into a 24 h level
 * before its evidence was in, and a 72 h dispersion estimate swelled after every burst; on
 * bench:trends (seeds 7, 8, 9) these two, with spike.openEvidence 4, took recall from
 * 0.907 / 0.919 / 0.922 (spike.openSurprise 6 alone) to 0.927 / 0.934 / 0.935; variancePower 2 and
 * weekSignificance 6 below (with gates.customerSurprise 4) took it to 0.935 / 0.942 / 0.948 at
 * 0.73-0.76 false episodes per 1,000 cluster-days (was 0.72-0.80); dailyHalfLifeDays 21 to
 * 0.9365 / 0.9436 / 0.9496 at 0.53-0.68.
 */
export const PIPELINE_DETECTOR_DEFAULTS: Partial<DetectorConfig> = {
  levelHalfLifeHours: 36,
  dispersionHalfLifeHours: 168,
  /**
   * A cluster's cases come from distinct customers at a rate that drifts: a gamma-mixed Poisson
   * (NB2, variance mu + c mu^2), not bursts of one sender (NB1) as in social-media volumes, where
   * `recur detect`'s 1.5 hedge fits better. Under 1.5 the quiet hours' dispersion was read off the
   * busy ones, ~2x too wide at a cluster's night-time level, and low-baseline surges stayed under
   * the evidence threshold. It needs the next setting: at 1.5 the baseline's own noise was hidden
   * in that excess width, and at 2 with the old hour-of-week rule false episodes rose to 1.32 per
   * 1,000 cluster-days (seed 7).
   */
  variancePower: 2,
  /**
   * Hourly cells see one bucket a week (~8 effective weeks each): keep a cell's departure only when
   * it is well clear of that noise (z^2 > 6, ~2.4 sd).
   */
  weekSignificance: 6,
  /**
   * A support queue's hour-of-day shape (office hours, the evening chat peak) holds for weeks; what
   * moves is its level, which the 36 h level ratio carries. At 7 days each hour's cell rested on
   * ~20 effective days of counts, and at a cluster's quiet hours that noise raised false episodes:
   * at 21 days (the weekly factors' 3 weeks) bench:trends seeds 7, 8, 9 went from 0.733 / 0.742 /
   * 0.758 to 0.550 / 0.675 / 0.583 false episodes per 1,000 cluster-days, recall from 0.935 / 0.942 /
   * 0.948 to 0.9365 / 0.9436 / 0.9496.
   */
  dailyHalfLifeDays: 21,
  /**
   * Off: a burst that comes back every few days is what recur exists to report (a problem that keeps
   * returning), not a series' normal to be learnt away. `recur detect` (0.1) scores arbitrary series,
   * where it is. On bench:trends it changed nothing (seeds 7, 8: the same recall and false episodes).
   */
  seenTailFactor: 0,
  /**
   * The aggregate scale the pipeline was tuned with (bench:trends, hourly: 3 buckets at 1 or 2 hours); `recur
   * detect` sums 2 hours. Pinned so sub-hour buckets keep the pipeline's behaviour.
   */
  aggregateHours: 1,
};

/** The pipeline's detector settings: its defaults under the operator's overrides (bucketMinutes only if given). */
export function pipelineDetectorSettings(cfg: TrendConfig): Partial<DetectorConfig> {
  return { ...PIPELINE_DETECTOR_DEFAULTS, ...cfg.detector };
}

/** Parsed config plus the detector config with bucketMinutes filled in from the bucket. */
export interface ResolvedTrendConfig extends TrendConfig {
  detectorResolved: DetectorConfig;
  bucketMs: number;
  /** Buckets of warm-up: warmupBuckets, else warmupHours in buckets of this size. */
  warmupBucketsResolved: number;
}

export function resolveTrendConfig(input: TrendConfigInput = {}): ResolvedTrendConfig {
  const cfg = trendConfigSchema.parse(input) as TrendConfig;
  const bucketMs = nominalBucketMs(cfg.bucket);
  const detectorResolved = detectorConfigSchema.parse({ bucketMinutes: bucketMs / 60_000, ...pipelineDetectorSettings(cfg) });
  const warmupBucketsResolved = cfg.warmupBuckets ?? Math.ceil((cfg.warmupHours * 3_600_000) / bucketMs);
  return { ...cfg, detectorResolved, bucketMs, warmupBucketsResolved };
}
