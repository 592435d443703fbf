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
  return base + (raw - u) / (Math.max(s.excMean[j], 0.1) * Math.LN10);
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
}
