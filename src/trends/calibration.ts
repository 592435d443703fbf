// Online calibration of a model's surprise against its own tail, so one threshold means the
// same thing for every series: peaks over threshold with an exponential tail (cf. SPOT).
import type { DetectorConfig, DetectorState } from './detector.js';
import { alphaFor } from './stats.js';

/**
 * Peaks-over-threshold calibration (cf. SPOT, Siffer et al. KDD 2017): the model's surprise is
 * re-expressed as -log10 of its empirical tail probability, with an exponential tail fitted
 * online above `calibrationLevel`. A well-calibrated model maps to itself.
 */
export function calibrate(s: DetectorState, j: 0 | 1, raw: number, cfg: DetectorConfig): number {
  const u = cfg.calibrationLevel;
  const base = -Math.log10(Math.max(s.excRate[j], 1e-9));
  if (raw <= u) return (raw * base) / u;
  const cal = base + (raw - u) / (Math.max(s.excMean[j], 0.1) * Math.LN10);
  // The fitted tail is exponential; a series whose surprises are heavier-tailed (tweets' one-bucket
  // bursts of 10-40x, every few days) would have each of them scored as once in years. What the series
  // has itself shown at frequency f scores at most -log10(f x seenTailFactor). In the last bin, which is
  // open (and surprisal stops at 300 besides), a burst cannot be told from a bigger one: none is capped.
  if (cfg.seenTailFactor === 0 || !s.seen || !(seenBin(raw / u) < SEEN_BINS - 1)) return cal;
  const f = seenAtLeast(s.seen[j], raw / u);
  return f > 0 ? Math.min(cal, -Math.log10(f * cfg.seenTailFactor)) : cal;
}

/**
 * Bins of surprise / calibrationLevel: geometric, 16 a decade (each 15.5% wide), from 1; the last, from
 * 10^(39/16) ~ 275, is open (surprisal stops at 300: p is floored at 1e-300).
 */
export const SEEN_BINS = 40;
const BINS_PER_DECADE = 16;

function seenBin(ratio: number): number {
  return Math.min(SEEN_BINS - 1, Math.max(0, Math.floor(Math.log10(ratio) * BINS_PER_DECADE)));
}

/**
 * Decayed frequency of buckets about as surprising as `ratio` x the level, or more: the bin below its
 * own, its own and every bin above, so anything from 15.5-33% below it counts. A burst that returns a
 * little more surprising than the last (the baseline drifts) is still one seen before, wherever the
 * bin edges fall; one more than 34% beyond every burst before finds nothing and keeps the fitted tail.
 */
export function seenAtLeast(bins: number[], ratio: number): number {
  let f = 0;
  for (let k = Math.max(0, seenBin(ratio) - 1); k < SEEN_BINS; k++) f += bins[k]!;
  return f;
}

export function updateCalibration(s: DetectorState, j: 0 | 1, raw: number, cfg: DetectorConfig, perHour: number): void {
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
  if (cfg.seenTailFactor === 0) {
    // A record kept while it was on and not decayed since would pass for current if it came back on.
    if (s.seen) delete s.seen;
  } else {
    // The same running average as the exceedance rate, one per bin: the bins sum to it.
    s.seen ??= [new Array<number>(SEEN_BINS).fill(0), new Array<number>(SEEN_BINS).fill(0)];
    const bins = s.seen[j];
    for (let k = 0; k < SEEN_BINS; k++) bins[k] = bins[k]! * (1 - ar);
    if (exceeded) bins[seenBin(raw / u)]! += ar;
  }
}
