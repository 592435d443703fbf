import type { SparseVector } from '../text/vectorize.js';
import { Mulberry32 } from './prng.js';

// Join threshold. A number is used as given. 'auto' sets it relative to the stream's own chance
// resemblance: a description must resemble a cluster `z` standard deviations more than it resembles a
// random bag of the stream's words: τ = mean + z·sd of sim(description, bag). Both come from a uniform
// reservoir sample of past descriptions (Vitter's algorithm R, seeded); a bag takes a real description's
// length and draws each term from a random sampled description, which keeps word frequencies and lengths
// but no topical co-occurrence. Unlike random pairs of real descriptions, this null does not rise when the
// stream holds only a few large topics.

export interface ThresholdOptions {
  threshold: number | 'auto';
  /** Standard deviations above chance. Default 1.645 (one-sided 5% level). */
  z?: number;
  /** Reservoir size. Default 256. */
  reservoir?: number;
  seed?: number;
}

export interface ThresholdState {
  fixed: number | null;
  z: number;
  size: number;
  seen: number;
  changes: number;
  rng: number;
  sample: [number[], number[]][];
  current: number;
}

/** Used until the reservoir holds enough pairs to estimate chance similarity. */
const WARMUP_THRESHOLD = 0.5;
/**
 * The most 'auto' asks. A stream held by one template message (a bot, a form) makes its random bags that
 * template, chance similarity 1, and τ 1: the template's own copies, at a cosine a rounding below 1, then
 * split off in hundreds of clusters (444 for 990 copies after 9 other texts).
 */
export const MAX_AUTO_THRESHOLD = 0.9;
const MIN_SAMPLE = 10;
/** Description–bag pairs per estimate. */
const NULL_PAIRS = 2000;

export class ThresholdTracker {
  private readonly fixed: number | null;
  private readonly z: number;
  private readonly size: number;
  private rng: Mulberry32;
  private sample: SparseVector[] = [];
  private seen = 0;
  private changes = 0;
  private current: number;
  // The random bag being scored (reused across the NULL_PAIRS of an estimate): its first bagLength terms.
  private bagIdx = new Int32Array(64);
  private bagSum = new Float64Array(64);
  private bagVal = new Float32Array(64);

  constructor(opts: ThresholdOptions) {
    const t = opts.threshold;
    if (t !== 'auto' && !(t >= 0 && t <= 1)) throw new RangeError(`threshold must be in [0, 1] or 'auto', got ${t}`);
    this.fixed = t === 'auto' ? null : t;
    this.z = opts.z ?? 1.645;
    this.size = Math.max(8, opts.reservoir ?? 256);
    this.rng = new Mulberry32(opts.seed ?? 0x5eed);
    this.current = this.fixed ?? WARMUP_THRESHOLD;
  }

  threshold(): number {
    return this.current;
  }

  /** Offers a description's vector (its first n terms) to the reservoir (kept with probability size / seen). */
  observe(v: SparseVector, n = v.idx.length): void {
    if (this.fixed !== null || n === 0) return;
    this.seen++;
    let slot: number;
    if (this.sample.length < this.size) slot = this.sample.length;
    else {
      slot = Math.floor(this.rng.next() * this.seen);
      if (slot >= this.size) return;
    }
    // A copy: v may be a reused buffer, or a view into a shared slab that a long-lived reference would pin.
    this.sample[slot] = { idx: v.idx.slice(0, n), val: v.val.slice(0, n) };
    this.changes++;
    // At 10 samples, then whenever the number of changes reaches a power of two: the sample is uniform over
    // the whole stream, so its statistics settle and re-estimating on a doubling schedule is enough.
    const c = this.changes;
    if (c === MIN_SAMPLE || (c >= 16 && (c & (c - 1)) === 0)) this.recompute();
  }

  /** Mean + z·sd of the similarity between sampled descriptions and random bags of sampled terms. */
  private recompute(): void {
    const n = this.sample.length;
    let sum = 0;
    let sq = 0;
    for (let p = 0; p < NULL_PAIRS; p++) {
      const real = this.sample[Math.floor(this.rng.next() * n)]!;
      const m = this.randomBag(this.sample[Math.floor(this.rng.next() * n)]!.idx.length);
      const s = this.dotBag(real, m);
      sum += s;
      sq += s * s;
    }
    const mean = sum / NULL_PAIRS;
    const sd = Math.sqrt(Math.max(0, sq / NULL_PAIRS - mean * mean));
    this.current = Math.min(MAX_AUTO_THRESHOLD, mean + this.z * sd);
  }

  /**
   * Draws a unit vector of `length` terms, each (with its weight) from a random sampled description, into
   * bagIdx/bagVal; returns its number of distinct terms. A repeated term sums its weights in draw order and
   * terms end up in increasing order, so the vector is the one a Map of sums sorted by term gives (it was
   * built that way, allocating per bag; a test pins the resulting thresholds).
   */
  private randomBag(length: number): number {
    const n = this.sample.length;
    if (this.bagIdx.length < length) {
      this.bagIdx = new Int32Array(2 * length);
      this.bagSum = new Float64Array(2 * length);
      this.bagVal = new Float32Array(2 * length);
    }
    const { bagIdx: idx, bagSum: sum, bagVal: val } = this;
    let m = 0;
    for (let t = 0; t < length; t++) {
      const src = this.sample[Math.floor(this.rng.next() * n)]!;
      const k = Math.floor(this.rng.next() * src.idx.length);
      const i = src.idx[k]!;
      let p = m;
      while (p > 0 && idx[p - 1]! > i) p--;
      if (p > 0 && idx[p - 1] === i) sum[p - 1] = sum[p - 1]! + src.val[k]!;
      else {
        idx.copyWithin(p + 1, p, m);
        sum.copyWithin(p + 1, p, m);
        idx[p] = i;
        sum[p] = 0 + src.val[k]!;
        m++;
      }
    }
    let norm = 0;
    for (let k = 0; k < m; k++) {
      val[k] = sum[k]!;
      norm += val[k]! ** 2;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let k = 0; k < m; k++) val[k] = val[k]! * inv;
    return m;
  }

  /** sparseDot(v, the first m bag terms): the same loop, so the same sum. */
  private dotBag(v: SparseVector, m: number): number {
    const { bagIdx, bagVal } = this;
    let i = 0;
    let j = 0;
    let s = 0;
    while (i < v.idx.length && j < m) {
      const x = v.idx[i]!;
      const y = bagIdx[j]!;
      if (x === y) s += v.val[i++]! * bagVal[j++]!;
      else if (x < y) i++;
      else j++;
    }
    return s;
  }

  toJSON(): ThresholdState {
    return {
      fixed: this.fixed, z: this.z, size: this.size, seen: this.seen, changes: this.changes, rng: this.rng.state,
      sample: this.sample.map((v) => [Array.from(v.idx), Array.from(v.val)]),
      current: this.current,
    };
  }

  static fromJSON(s: ThresholdState): ThresholdTracker {
    const t = new ThresholdTracker({ threshold: s.fixed ?? 'auto', z: s.z, reservoir: s.size });
    t.seen = s.seen;
    t.changes = s.changes;
    t.rng = new Mulberry32(s.rng);
    t.sample = s.sample.map(([i, v]) => ({ idx: Int32Array.from(i), val: Float32Array.from(v) }));
    // A checkpoint from before the cap may hold an automatic threshold of 1 (see MAX_AUTO_THRESHOLD).
    t.current = s.fixed === null ? Math.min(MAX_AUTO_THRESHOLD, s.current) : s.current;
    return t;
  }
}
