// One count series, online: seasonal baseline (hour-of-day x day-of-week) scaled by a recent
// level ratio, negative-binomial surprise with online overdispersion, calibrated on its own tail.
import { z } from 'zod';
import { negBinUpperTail, surprisal } from './stats.js';

export const detectorConfigSchema = z.object({
  /** Bucket length in minutes; sets how many buckets make an hour/day for the half-lives below. */
  bucketMinutes: z.number().positive().default(60),
  /** Half-life of the recent-level ratio (observed / seasonal baseline), in hours. */
  levelHalfLifeHours: z.number().positive().default(24),
  /** Half-life of the hour-of-day profile, in days. */
  dailyHalfLifeDays: z.number().positive().default(7),
  /** Half-life of the hour-of-week profile, in weeks. */
  weeklyHalfLifeWeeks: z.number().positive().default(3),
  /**
   * Variance function. 'nb1': var = mu (1 + delta), counts arriving in bursts of geometric size
   * (compound Poisson), so noise grows like the mean. 'nb2': var = mu + phi mu^2. 'fit':
   * var = mu (1 + a) + b mu^2 with a, b >= 0 regressed online from the residuals, which covers
   * both and lets the data say how noise scales with the level.
   */
  variance: z.enum(['nb1', 'nb2', 'fit']).default('fit'),
  /** Residuals feeding the dispersion estimate are capped at this many standard deviations. */
  dispersionClipSd: z.number().positive().default(5),
  /** Half-life of the overdispersion estimate, in hours. */
  dispersionHalfLifeHours: z.number().positive().default(72),
  /** Prior overdispersion (delta for nb1, phi for nb2) for young series. */
  phiPrior: z.number().nonnegative().default(0.25),
  /** Learning is winsorised at this many standard deviations, so spikes barely move the baseline. */
  clipSd: z.number().positive().default(2.5),
  /** Floor for the expected count, so an all-zero history still gives finite surprise. */
  minExpected: z.number().positive().default(0.2),
  /** Multiplicative shift the CUSUM is tuned to detect (sustained growth). */
  cusumShift: z.number().gt(1).default(1.5),
  /** Length of the second, aggregated time scale (EWMA window), in hours. */
  aggregateHours: z.number().positive().default(1),
  /** Surprise above which tail exceedances are tracked for calibration (peaks over threshold). */
  calibrationLevel: z.number().positive().default(1),
  /** Half-life of the calibration estimates, in days. */
  calibrationHalfLifeDays: z.number().positive().default(14),
  /** Surprise (-log10 p) at which anomaly_score is 0.5. */
  scoreHalf: z.number().positive().default(4),
});
export type DetectorConfig = z.infer<typeof detectorConfigSchema>;
export const defaultDetectorConfig: DetectorConfig = detectorConfigSchema.parse({});

/** Serialisable (JSON) detector state: ~400 numbers per series. */
export interface DetectorState {
  v: 1;
  /** Observations seen. */
  n: number;
  /** EWMA of all counts: the fallback baseline for a young series. */
  mean: number;
  /** Hour-of-day profile in counts per bucket (24) and updates per slot. */
  hod: number[];
  hodN: number[];
  /** Hour-of-week profile (168, Monday 00h first) and updates per slot. */
  week: number[];
  weekN: number[];
  /** EWMAs of observed and of seasonal baseline: their ratio is the recent level. */
  recX: number;
  recB: number;
  /** EWMA numerator/denominator of the moment estimate phi = E[(x-mu)^2 - mu] / E[mu^2]. */
  dNum: number;
  dDen: number;
  /** EWMA moments for regressing z = ((x-mu)^2 - mu) / mu on mu: E[z], E[mu], E[mu z], E[mu^2]. */
  vZ: number;
  vM: number;
  vMZ: number;
  vMM: number;
  /** EWMA of observed and expected counts over `aggregateHours`. */
  aggX: number;
  aggMu: number;
  /** Per scale (point, aggregate): rate of surprise > calibrationLevel, and mean excess over it. */
  excRate: [number, number];
  excMean: [number, number];
  /** Exceedances seen per scale (for warm-up averaging). */
  excN: [number, number];
  /** Page CUSUM of the log-likelihood ratio for a `cusumShift` rise, in nats. */
  cusum: number;
  /** Buckets the CUSUM has been positive without reset. */
  cusumRun: number;
}

export interface DetectorStep {
  observed: number;
  expected: number;
  /** Overdispersion used for this step. */
  phi: number;
  /** P(X >= observed) under the baseline. */
  pValue: number;
  /** Calibrated surprise: max over the two time scales, as -log10 of an empirical tail probability. */
  surprise: number;
  /** -log10 pValue of this bucket alone, before calibration. */
  rawSurprise: number;
  /** Uncalibrated surprise of the aggregated time scale. */
  aggSurprise: number;
  /** CUSUM statistic after this step, in log10 units (comparable to surprise). */
  growth: number;
  /** Buckets the growth statistic has been accumulating. */
  growthRun: number;
  /** Monotone map of the calibrated surprise into [0, 1]. */
  anomalyScore: number;
}

export function createDetectorState(): DetectorState {
  return {
    v: 1,
    n: 0,
    mean: 0,
    hod: new Array<number>(24).fill(0),
    hodN: new Array<number>(24).fill(0),
    week: new Array<number>(168).fill(0),
    weekN: new Array<number>(168).fill(0),
    recX: 0,
    recB: 0,
    dNum: 0,
    dDen: 0,
    vZ: 0,
    vM: 0,
    vMZ: 0,
    vMM: 0,
    aggX: 0,
    aggMu: 0,
    excRate: [0.01, 0.01],
    excMean: [1 / Math.LN10, 1 / Math.LN10],
    excN: [0, 0],
    cusum: 0,
    cusumRun: 0,
  };
}

function alphaFor(halfLifeSteps: number): number {
  return 1 - Math.pow(0.5, 1 / Math.max(halfLifeSteps, 1));
}

/**
 * Seasonal baseline for a slot, in counts: the hour-of-week profile where it has seen about a
 * week of data, shrunk towards the hour-of-day profile, shrunk towards the overall mean.
 */
export function seasonalBaseline(s: DetectorState, slot: number, cfg: DetectorConfig): number {
  const perHour = 60 / cfg.bucketMinutes;
  const h = slot % 24;
  const days = s.hodN[h]! / perHour;
  const wd = days / (days + 1);
  const daily = s.mean + (s.hod[h]! - s.mean) * wd;
  const weeks = s.weekN[slot]! / perHour;
  const ww = weeks / (weeks + 2);
  return daily + (s.week[slot]! - daily) * ww;
}

/** Baseline expectation and overdispersion for the next observation in `slot`. */
export function expectation(s: DetectorState, slot: number, cfg: DetectorConfig): { mu: number; phi: number } {
  const base = seasonalBaseline(s, slot, cfg);
  // Recent level: how far the last ~levelHalfLife ran above or below the seasonal profile.
  const ratio = (s.recX + cfg.minExpected) / (s.recB + cfg.minExpected);
  const mu = Math.max(cfg.minExpected, base * ratio);
  // Young series: blend the dispersion prior with the estimate as evidence accrues.
  const w = s.n / (s.n + 24);
  if (cfg.variance === 'fit') {
    const { a, b } = varianceFit(s);
    return { mu, phi: (1 - w) * cfg.phiPrior + w * (a / mu + b) };
  }
  if (cfg.variance === 'nb2') {
    const phiHat = s.dDen > 0 ? Math.max(0, s.dNum / s.dDen) : cfg.phiPrior;
    return { mu, phi: (1 - w) * cfg.phiPrior + w * phiHat };
  }
  // NB1: var = mu (1 + delta); expressed as the NB2 phi that gives the same variance at mu.
  const deltaHat = s.dDen > 0 ? Math.max(0, s.dNum / s.dDen) : cfg.phiPrior;
  const delta = (1 - w) * cfg.phiPrior + w * deltaHat;
  return { mu, phi: delta / mu };
}

/**
 * Least-squares fit of z = a + b mu from EWMA moments, a, b >= 0. A ridge term keeps b near 0
 * when mu barely varies (no information about how noise scales with the level).
 */
export function varianceFit(s: DetectorState): { a: number; b: number } {
  const varM = s.vMM - s.vM * s.vM;
  const cov = s.vMZ - s.vM * s.vZ;
  let b = Math.max(0, cov / (Math.max(varM, 0) + 0.05 * s.vM * s.vM + 1e-9));
  let a = s.vZ - b * s.vM;
  if (a < 0) {
    a = 0;
    b = Math.max(0, s.vMZ / (s.vMM + 1e-9));
  }
  return { a, b };
}

/** NB log-likelihood ratio of "mean k*mu" against "mean mu" for one count. */
function growthLlr(x: number, mu: number, phi: number, k: number): number {
  if (phi < 1e-6) return x * Math.log(k) - mu * (k - 1);
  const r = 1 / phi;
  return x * Math.log((k * (r + mu)) / (r + k * mu)) + r * Math.log((r + mu) / (r + k * mu));
}

/**
 * Score one bucket's count, then learn from it (no look-ahead: the score uses only
 * earlier observations). Mutates `s` in place for speed; `s` stays plain JSON.
 */
export function stepDetector(s: DetectorState, slot: number, x: number, cfg: DetectorConfig = defaultDetectorConfig): DetectorStep {
  const perHour = 60 / cfg.bucketMinutes;
  if (s.n === 0) {
    s.mean = Math.max(x, cfg.minExpected);
    s.aggX = x;
    s.aggMu = s.mean;
  }
  const { mu, phi } = expectation(s, slot, cfg);
  const pValue = negBinUpperTail(x, mu, phi);
  const surprise = surprisal(pValue);

  // Second time scale: EWMA sums of observed and expected over ~aggregateHours, scored as one
  // NB count with dispersion shrunk by the window length (exact for independent buckets;
  // calibration below absorbs the autocorrelation that makes it optimistic).
  const k = Math.max(3, cfg.aggregateHours * perHour);
  const ak = 2 / (k + 1);
  s.aggX += ak * (x - s.aggX);
  s.aggMu += ak * (mu - s.aggMu);
  const aggSurprise = surprisal(negBinUpperTail(k * s.aggX, k * s.aggMu, phi / k));

  const cal = Math.max(calibrate(s, 0, surprise, cfg), calibrate(s, 1, aggSurprise, cfg));

  // CUSUM against a multiplicative rise (Page 1954); resets when evidence turns negative.
  s.cusum = Math.max(0, s.cusum + growthLlr(x, mu, phi, cfg.cusumShift));
  s.cusumRun = s.cusum > 0 ? s.cusumRun + 1 : 0;

  updateCalibration(s, 0, surprise, cfg, perHour);
  updateCalibration(s, 1, aggSurprise, cfg, perHour);
  learn(s, slot, x, mu, phi, cfg, perHour);
  return {
    observed: x,
    expected: mu,
    phi,
    pValue,
    surprise: cal,
    rawSurprise: surprise,
    aggSurprise,
    growth: s.cusum / Math.LN10,
    growthRun: s.cusumRun,
    anomalyScore: cal / (cal + cfg.scoreHalf),
  };
}

/**
 * Peaks-over-threshold calibration (cf. SPOT, Siffer et al. KDD 2017): the model's surprise is
 * re-expressed as -log10 of its empirical tail probability, with an exponential tail fitted
 * online above `calibrationLevel`. A well-calibrated model maps to itself.
 */
function calibrate(s: DetectorState, j: 0 | 1, raw: number, cfg: DetectorConfig): number {
  const u = cfg.calibrationLevel;
  const base = -Math.log10(Math.max(s.excRate[j], 1e-9));
  if (raw <= u) return (raw * base) / u;
  return base + (raw - u) / (Math.max(s.excMean[j], 0.1) * Math.LN10);
}

function updateCalibration(s: DetectorState, j: 0 | 1, raw: number, cfg: DetectorConfig, perHour: number): void {
  const u = cfg.calibrationLevel;
  const exceeded = raw > u;
  // Plain averages while young (the first 1/(n+1) terms), EWMAs once enough is seen.
  const ar = Math.max(alphaFor(cfg.calibrationHalfLifeDays * 24 * perHour), 1 / (s.n + 2));
  s.excRate[j] += ar * ((exceeded ? 1 : 0) - s.excRate[j]);
  if (exceeded) {
    // Tail scale: a mean of exceedances with a prior of 10 calibrated ones, each capped at 5x
    // the current scale, so a single giant spike cannot blunt the next one.
    const excess = Math.min(raw - u, 5 * s.excMean[j]);
    s.excN[j] += 1;
    s.excMean[j] += Math.max(alphaFor(50), 1 / (s.excN[j] + 10)) * (excess - s.excMean[j]);
  }
}

function learn(s: DetectorState, slot: number, x: number, mu: number, phi: number, cfg: DetectorConfig, perHour: number): void {
  const sd = Math.sqrt(mu + phi * mu * mu);
  // Winsorise: a spike moves the baseline by at most clipSd standard deviations.
  const xc = Math.min(Math.max(x, mu - cfg.clipSd * sd), mu + cfg.clipSd * sd);
  const base = Math.max(seasonalBaseline(s, slot, cfg), cfg.minExpected);

  // Ratio-of-EWMAs moment estimator: weights busy buckets by mu^2, so quiet hours with a
  // handful of counts do not dominate. Residuals are winsorised at twice clipSd with phi
  // floored, so an underestimate cannot lock itself in by clipping everything.
  const sdD = Math.sqrt(mu + Math.max(phi, 0.05) * mu * mu);
  const r = Math.min(Math.abs(x - mu), cfg.dispersionClipSd * sdD);
  const ad = alphaFor(cfg.dispersionHalfLifeHours * perHour);
  s.dNum += ad * (r * r - mu - s.dNum);
  s.dDen += ad * ((cfg.variance === 'nb2' ? mu * mu : mu) - s.dDen);
  const zr = (r * r - mu) / mu;
  s.vZ += ad * (zr - s.vZ);
  s.vM += ad * (mu - s.vM);
  s.vMZ += ad * (mu * zr - s.vMZ);
  s.vMM += ad * (mu * mu - s.vMM);

  const al = alphaFor(cfg.levelHalfLifeHours * perHour);
  s.recX += al * (xc - s.recX);
  s.recB += al * (base - s.recB);

  // Profiles learn the count with the recent level divided out, so a level shift is carried by
  // the ratio at first and folds into the profiles over their (longer) half-lives.
  const ratio = (s.recX + cfg.minExpected) / (s.recB + cfg.minExpected);
  const xs = xc / Math.max(ratio, 1e-3);
  s.mean += Math.max(alphaFor(cfg.dailyHalfLifeDays * 24 * perHour), 1 / (s.n + 1)) * (xc - s.mean);
  const h = slot % 24;
  s.hod[h]! += Math.max(alphaFor(cfg.dailyHalfLifeDays * perHour), 1 / (s.hodN[h]! + 1)) * (xs - s.hod[h]!);
  s.hodN[h] = Math.min(s.hodN[h]! + 1, 1e6);
  s.week[slot]! += Math.max(alphaFor(cfg.weeklyHalfLifeWeeks * perHour), 1 / (s.weekN[slot]! + 1)) * (xs - s.week[slot]!);
  s.weekN[slot] = Math.min(s.weekN[slot]! + 1, 1e6);
  s.n += 1;
}
