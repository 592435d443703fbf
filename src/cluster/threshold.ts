import { sparseDot, type SparseVector } from '../text/vectorize.js';
import { Mulberry32 } from './prng.js';

// Join threshold. A number is used as given. 'auto' sets it relative to the stream's own chance
// resemblance: a uniform reservoir sample of past descriptions (Vitter's algorithm R, seeded) gives the
// similarity of random pairs, and a description must resemble a cluster `z` standard deviations more than
// random pairs resemble each other: τ = mean + z·sd. Short texts mostly share no terms, so this sits well
// below the similarity of real paraphrases and well above coincidental overlap.

export interface ThresholdOptions {
  threshold: number | 'auto';
  /** Standard deviations above chance. Default 2. */
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
  rng: number;
  sample: [number[], number[]][];
  sum: number;
  sq: number;
  current: number;
}

/** Used until the reservoir holds enough pairs to estimate chance similarity. */
const WARMUP_THRESHOLD = 0.5;
const MIN_PAIRS = 45;

export class ThresholdTracker {
  private readonly fixed: number | null;
  private readonly z: number;
  private readonly size: number;
  private rng: Mulberry32;
  private sample: SparseVector[] = [];
  /** Pairwise similarities of the sample, row-major size × size. */
  private pairs: Float64Array;
  private seen = 0;
  private current: number;
  /** Sum and sum of squares of the off-diagonal pair similarities, kept incrementally. */
  private sum = 0;
  private sq = 0;

  constructor(opts: ThresholdOptions) {
    const t = opts.threshold;
    if (t !== 'auto' && !(t >= 0 && t <= 1)) throw new RangeError(`threshold must be in [0, 1] or 'auto', got ${t}`);
    this.fixed = t === 'auto' ? null : t;
    this.z = opts.z ?? 2;
    this.size = Math.max(8, opts.reservoir ?? 256);
    this.rng = new Mulberry32(opts.seed ?? 0x5eed);
    this.pairs = new Float64Array(this.fixed === null ? this.size * this.size : 0);
    this.current = this.fixed ?? WARMUP_THRESHOLD;
  }

  threshold(): number {
    return this.current;
  }

  /** Offers a description's vector to the reservoir (kept with probability size / seen). */
  observe(v: SparseVector): void {
    if (this.fixed !== null || v.idx.length === 0) return;
    this.seen++;
    let slot: number;
    if (this.sample.length < this.size) slot = this.sample.length;
    else {
      slot = Math.floor(this.rng.next() * this.seen);
      if (slot >= this.size) return;
    }
    const replacing = slot < this.sample.length;
    this.sample[slot] = v;
    for (let j = 0; j < this.sample.length; j++) {
      if (j === slot) continue;
      const old = this.pairs[slot * this.size + j]!;
      if (replacing) {
        this.sum -= old;
        this.sq -= old * old;
      }
      const s = sparseDot(v, this.sample[j]!);
      this.sum += s;
      this.sq += s * s;
      this.pairs[slot * this.size + j] = s;
      this.pairs[j * this.size + slot] = s;
    }
    this.recompute();
  }

  private recompute(): void {
    const n = this.sample.length;
    const count = (n * (n - 1)) / 2;
    if (count < MIN_PAIRS) return;
    const mean = this.sum / count;
    const sd = Math.sqrt(Math.max(0, this.sq / count - mean * mean));
    this.current = Math.min(1, mean + this.z * sd);
  }

  toJSON(): ThresholdState {
    return {
      fixed: this.fixed, z: this.z, size: this.size, seen: this.seen, rng: this.rng.state,
      sample: this.sample.map((v) => [Array.from(v.idx), Array.from(v.val)]), sum: this.sum, sq: this.sq,
      current: this.current,
    };
  }

  static fromJSON(s: ThresholdState): ThresholdTracker {
    const t = new ThresholdTracker({ threshold: s.fixed ?? 'auto', z: s.z, reservoir: s.size });
    t.seen = s.seen;
    t.rng = new Mulberry32(s.rng);
    t.sample = s.sample.map(([i, v]) => ({ idx: Int32Array.from(i), val: Float32Array.from(v) }));
    t.sum = s.sum;
    t.sq = s.sq;
    for (let a = 0; a < t.sample.length; a++) {
      for (let b = 0; b < t.sample.length; b++) t.pairs[a * t.size + b] = a === b ? 1 : sparseDot(t.sample[a]!, t.sample[b]!);
    }
    t.current = s.current;
    return t;
  }
}
