// Port of the Numenta Anomaly Benchmark scorer (numenta/NAB nab/sweeper.py, nab/optimizer.py,
// nab/runner.py normalize): scaled-sigmoid window weighting, corpus-wide threshold sweep.

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/** NAB's "standard" application profile (config/profiles.json). */
export const STANDARD_PROFILE: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };

export interface NabFile {
  name: string;
  /** Row timestamps, ms since epoch, ascending. */
  timestamps: number[];
  anomalyScores: number[];
  /** Labelled windows as [start, end] timestamps (ms) that coincide with rows. */
  windows: Array<[number, number]>;
}

interface AnomalyPoint {
  anomalyScore: number;
  sweepScore: number;
  /** null = outside every window; 'probationary' = ignored. */
  windowName: string | null;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  total: number;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** sweeper.scaledSigmoid: +0.987 at a window's left edge, 0 at its right edge, -1 far after. */
export function scaledSigmoid(relativePositionInWindow: number): number {
  if (relativePositionInWindow >= 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePositionInWindow) - 1.0;
}

/** sweeper._getProbationaryLength: 15% of the file, capped at 15% of 5000 rows. */
export function probationaryLength(numRows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/** sweeper.calcSweepScore: per-row weighted score if that row were the detection. */
export function calcSweepScore(file: NabFile, cost: CostMatrix, probationPercent = 0.15): AnomalyPoint[] {
  const { timestamps, anomalyScores } = file;
  if (timestamps.length !== anomalyScores.length) throw new RangeError(`${file.name}: timestamps and anomalyScores differ in length`);
  const indexOf = new Map<number, number>();
  timestamps.forEach((t, i) => {
    if (!indexOf.has(t)) indexOf.set(t, i);
  });
  const windowLimits = file.windows.slice();
  const maxTP = scaledSigmoid(-1.0);
  const probation = probationaryLength(timestamps.length, probationPercent);
  const out: AnomalyPoint[] = [];

  let cur: [number, number] | null = null;
  let curName: string | null = null;
  let curWidth = 0;
  let curRight = 0;
  let prevWidth: number | null = null;
  let prevRight: number | null = null;

  for (let i = 0; i < timestamps.length; i++) {
    const ts = timestamps[i]!;
    if (windowLimits.length > 0 && ts === windowLimits[0]![0]) {
      cur = windowLimits.shift()!;
      curName = `${file.name}|${cur[0]}`;
      const right = indexOf.get(cur[1]);
      const left = indexOf.get(cur[0]);
      if (right === undefined || left === undefined) throw new RangeError(`${file.name}: window ${cur.join('..')} does not match rows`);
      curRight = right;
      curWidth = right - left + 1;
    }
    let weighted: number;
    if (cur !== null) {
      const positionInWindow = -(curRight - i + 1) / curWidth;
      weighted = (scaledSigmoid(positionInWindow) * cost.tpWeight) / maxTP;
    } else {
      const positionPastWindow = prevRight === null ? 3.0 : Math.abs(prevRight - i) / (prevWidth! - 1);
      weighted = scaledSigmoid(positionPastWindow) * cost.fpWeight;
    }
    out.push({ anomalyScore: anomalyScores[i]!, sweepScore: weighted, windowName: i >= probation ? curName : 'probationary' });
    if (cur !== null && ts === cur[1]) {
      prevRight = i;
      prevWidth = curWidth;
      cur = null;
      curName = null;
    }
  }
  return out;
}

/** sweeper.calcScoreByThreshold: score at every distinct threshold, highest first (flag if score >= threshold). */
export function calcScoreByThreshold(anomalyList: AnomalyPoint[], cost: CostMatrix): ThresholdScore[] {
  const scorable = anomalyList.filter((x) => x.windowName !== 'probationary');
  // Python's sorted() is stable; Array.prototype.sort is stable too.
  scorable.sort((a, b) => b.anomalyScore - a.anomalyScore);
  const parts = new Map<string, number>();
  let fpPart = 0;
  for (const row of scorable) if (row.windowName !== null) parts.set(row.windowName, -cost.fnWeight);
  const total = (): number => {
    let s = fpPart;
    for (const v of parts.values()) s += v;
    return s;
  };
  let tn = scorable.filter((x) => x.windowName === null).length;
  let fn = scorable.length - tn;
  let tp = 0;
  let fp = 0;
  let curThreshold = 1.1;
  const result: ThresholdScore[] = [];
  for (const p of scorable) {
    if (p.anomalyScore !== curThreshold) {
      result.push({ threshold: curThreshold, score: total(), tp, tn, fp, fn, total: tp + tn + fp + fn });
      curThreshold = p.anomalyScore;
    }
    if (p.windowName !== null) {
      tp += 1;
      fn -= 1;
      parts.set(p.windowName, Math.max(parts.get(p.windowName)!, p.sweepScore));
    } else {
      fp += 1;
      tn -= 1;
      fpPart += p.sweepScore;
    }
  }
  result.push({ threshold: curThreshold, score: total(), tp, tn, fp, fn, total: tp + tn + fp + fn });
  return result;
}

/** sweeper.scoreDataSet: the row for `threshold`, or the last one above it. */
export function scoreAtThreshold(byThreshold: ThresholdScore[], threshold: number): ThresholdScore | null {
  let prev: ThresholdScore | null = null;
  for (const row of byThreshold) {
    if (row.threshold === threshold) return row;
    if (row.threshold < threshold) return prev;
    prev = row;
  }
  return prev;
}

export interface CorpusResult {
  threshold: number;
  rawScore: number;
  nullScore: number;
  perfectScore: number;
  normalized: number;
  files: Array<{ name: string; raw: number; normalized: number; tp: number; fp: number; fn: number; windows: number }>;
}

/**
 * optimizer.optimizeThreshold + scorer.scoreCorpus + runner.normalize: one threshold for the
 * whole corpus; normalised = 100 * (raw - null) / (perfect - null), where null is never firing
 * (every window a miss) and perfect is a TP at every window's left edge.
 */
export function scoreCorpus(files: NabFile[], cost: CostMatrix = STANDARD_PROFILE, probationPercent = 0.15): CorpusResult {
  const perFile = files.map((f) => calcScoreByThreshold(calcSweepScore(f, cost, probationPercent), cost));
  const all = calcScoreByThreshold(
    files.flatMap((f) => calcSweepScore(f, cost, probationPercent)),
    cost,
  );
  // sorted(..., key=score, reverse=True)[0]: the first best in threshold order wins ties.
  let best = all[0]!;
  for (const row of all) if (row.score > best.score) best = row;
  const windowsOf = (f: NabFile): number => f.windows.length;
  const nullScore = files.reduce((a, f) => a - windowsOf(f) * cost.fnWeight, 0);
  const perfectScore = files.reduce((a, f) => a + windowsOf(f) * cost.tpWeight, 0);
  const fileRows = files.map((f, i) => {
    const row = scoreAtThreshold(perFile[i]!, best.threshold)!;
    const nul = -windowsOf(f) * cost.fnWeight;
    const perf = windowsOf(f) * cost.tpWeight;
    return {
      name: f.name,
      raw: row.score,
      normalized: (100 * (row.score - nul)) / (perf - nul),
      tp: row.tp,
      fp: row.fp,
      fn: row.fn,
      windows: windowsOf(f),
    };
  });
  const rawScore = fileRows.reduce((a, r) => a + r.raw, 0);
  return {
    threshold: best.threshold,
    rawScore,
    nullScore,
    perfectScore,
    normalized: (100 * (rawScore - nullScore)) / (perfectScore - nullScore),
    files: fileRows,
  };
}
