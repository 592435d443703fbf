import { i32FromBase64, toBase64, u32FromBase64 } from '../bytes.js';

// TF-IDF over hashed terms. Feature hashing keeps memory fixed (one document-frequency counter per bucket)
// with no eviction to coordinate with clusters that hold term indices; a bounded name table keeps the
// string of the more frequent terms so labels stay readable.

/**
 * A copy of `s` that does not hold the string it was cut from. V8 cuts a substring of 13 or more characters
 * as a view of its parent, so a word kept in a cache (a rare one is kept from its first sighting) kept its
 * whole description alive: 56.8 MB for 4,000 descriptions of 14 KB, against 1.0 MB without such words.
 * Shorter ones are copied by V8 already.
 */
export function detached(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Sparse vector: strictly increasing indices with parallel values. */
export interface SparseVector {
  readonly idx: Int32Array;
  readonly val: Float32Array;
}

/**
 * Reusable storage for one sparse vector: its entries are the first `length` of idx and val (the arrays
 * may be longer). The online path vectorises into one of these per event instead of allocating a vector;
 * whoever keeps a vector beyond the event copies those entries.
 */
export interface SparseBuffer extends SparseVector {
  idx: Int32Array;
  val: Float32Array;
  length: number;
}

export function sparseBuffer(capacity = 64): SparseBuffer {
  return { idx: new Int32Array(capacity), val: new Float32Array(capacity), length: 0 };
}

export interface VectorizerOptions {
  /** Hash buckets, a power of two. Default 2^20. */
  dimensions?: number;
  /** 1 + ln(tf) instead of raw term counts. Default true. */
  sublinearTf?: boolean;
  /** Cap on remembered term strings (the readable vocabulary). Default 100,000. */
  maxNames?: number;
}

/** Format 2: document frequencies and readable names as base64 arrays (no array per entry). */
export interface PackedVectorizerSnapshot {
  v: 2;
  dimensions: number;
  sublinearTf: boolean;
  maxNames: number;
  docs: number;
  /** base64 Int32Array of buckets with a document frequency, increasing, and base64 Uint32Array of those. */
  dfBuckets: string;
  dfCounts: string;
  /** base64 Int32Array of buckets and their terms, in the table's internal order (it breaks eviction ties). */
  nameBuckets: string;
  names: string[];
}

export interface VectorizerSnapshot {
  v: 1;
  dimensions: number;
  sublinearTf: boolean;
  maxNames: number;
  docs: number;
  /** [bucket, documentFrequency] in increasing bucket order. */
  df: [number, number][];
  /** [bucket, term] in the table's internal order (it breaks eviction ties). */
  names: [number, string][];
}

const SLAB_BYTES = 16384;

/** FNV-1a over UTF-16 code units. */
export function hashTerm(term: string): number {
  return hashOnto(0x811c9dc5, term) >>> 0;
}

/**
 * hashTerm(a + ' ' + b) from hashTerm(a) and b alone (FNV-1a is a left fold over the code units): the
 * tokenizer hashes a bigram without building or scanning its string.
 */
export function hashPair(hashA: number, b: string): number {
  return hashOnto(Math.imul(hashA ^ 32, 0x01000193), b) >>> 0;
}

function hashOnto(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** Online TF-IDF: `update` counts a document's terms, `transform` weights with the current statistics. */
/** Documents up to this many tokens are sorted by insertion (short ones, nearly all): faster than a sort call. */
const INSERTION_SORT_MAX = 64;

export class HashingVectorizer {
  readonly dimensions: number;
  readonly sublinearTf: boolean;
  private maxNamesKept: number;
  /** Term strings kept at most (evicted a tenth at a time past it). */
  get maxNames(): number {
    return this.maxNamesKept;
  }
  /** A new bound (at least 16): from the next term remembered on. */
  setMaxNames(n: number): void {
    this.maxNamesKept = Math.max(16, n);
  }
  private readonly mask: number;
  private readonly df: Uint32Array;
  private readonly names = new Map<number, string>();
  private docs = 0;

  constructor(opts: VectorizerOptions = {}) {
    const dims = opts.dimensions ?? 1 << 20;
    if (!Number.isInteger(Math.log2(dims)) || dims < 16) throw new RangeError(`dimensions must be a power of two >= 16, got ${dims}`);
    this.dimensions = dims;
    this.mask = dims - 1;
    this.sublinearTf = opts.sublinearTf ?? true;
    this.maxNamesKept = Math.max(16, opts.maxNames ?? 100_000);
    this.df = new Uint32Array(dims);
  }

  get documentCount(): number {
    return this.docs;
  }

  /** Remembered term strings (never above maxNames). */
  get vocabularySize(): number {
    return this.names.size;
  }

  indexOf(term: string): number {
    return hashTerm(term) & this.mask;
  }

  termName(index: number): string | undefined {
    return this.names.get(index);
  }

  documentFrequency(index: number): number {
    return this.df[index] ?? 0;
  }

  /** Smoothed idf: ln((1 + N) / (1 + df)) + 1, as scikit-learn's default. */
  idf(index: number): number {
    return Math.log((1 + this.docs) / (1 + (this.df[index] ?? 0))) + 1;
  }

  /**
   * Counts one document's distinct terms into the document frequencies. `hashes`, when given, holds
   * hashTerm of each token in its first tokens.length entries (Tokenizer.tokenize fills it that way),
   * which saves hashing the strings again.
   */
  update(tokens: readonly string[], hashes?: ArrayLike<number>): void {
    const n = this.hashAll(tokens, hashes);
    this.docs++;
    const sc = this.scratch;
    for (let i = 0; i < n; i++) {
      const index = sc[i]!;
      if (i > 0 && sc[i - 1] === index) continue;
      const df = ++this.df[index]!;
      // The bucket's name is the term that takes it past each power of two: cheap, a name evicted while rare comes
      // back once frequent, and where two terms share a bucket the one that fills it names it (the first to arrive
      // kept it for good: a one-off word named a cluster's main term).
      if ((df & (df - 1)) === 0) {
        const term = tokens[this.order[i]!]!;
        if (this.names.get(index) !== term) this.remember(index, term);
      }
    }
  }

  /** L2-normalised TF-IDF vector of one document under the current statistics. */
  transform(tokens: readonly string[], hashes?: ArrayLike<number>): SparseVector {
    return this.weigh(this.hashAll(tokens, hashes));
  }

  /** update then transform: the online path (hashes once). */
  updateAndTransform(tokens: readonly string[], hashes?: ArrayLike<number>): SparseVector {
    this.update(tokens, hashes);
    return this.weigh(this.scratchLength);
  }

  /** updateAndTransform into `out` (grown when too short) instead of a new vector; returns `out`. */
  updateAndTransformInto(tokens: readonly string[], hashes: ArrayLike<number> | undefined, out: SparseBuffer): SparseBuffer {
    this.update(tokens, hashes);
    const n = this.scratchLength;
    if (out.idx.length < n) {
      out.idx = new Int32Array(2 * n);
      out.val = new Float32Array(2 * n);
    }
    out.length = this.weighInto(n, out.idx, out.val);
    return out;
  }

  snapshot(): PackedVectorizerSnapshot {
    let n = 0;
    for (let i = 0; i < this.df.length; i++) if (this.df[i] !== 0) n++;
    const buckets = new Int32Array(n);
    const counts = new Uint32Array(n);
    for (let i = 0, k = 0; i < this.df.length; i++) {
      if (this.df[i] === 0) continue;
      buckets[k] = i;
      counts[k++] = this.df[i]!;
    }
    return {
      v: 2, dimensions: this.dimensions, sublinearTf: this.sublinearTf, maxNames: this.maxNames, docs: this.docs,
      dfBuckets: toBase64(buckets), dfCounts: toBase64(counts),
      nameBuckets: toBase64(Int32Array.from(this.names.keys())), names: [...this.names.values()],
    };
  }

  /** Either format: 1 (JSON pairs, written by recur 0.1) or 2. */
  static restore(s: VectorizerSnapshot | PackedVectorizerSnapshot): HashingVectorizer {
    if (s.v !== 1 && s.v !== 2) throw new RangeError(`unsupported vectorizer snapshot version ${String((s as { v: unknown }).v)}`);
    const v = new HashingVectorizer({ dimensions: s.dimensions, sublinearTf: s.sublinearTf, maxNames: s.maxNames });
    v.docs = s.docs;
    if (s.v === 1) {
      for (const [i, c] of s.df) v.df[i] = c;
      for (const [i, t] of s.names) v.names.set(i, t);
      return v;
    }
    const buckets = i32FromBase64(s.dfBuckets);
    const counts = u32FromBase64(s.dfCounts);
    const nameBuckets = i32FromBase64(s.nameBuckets);
    if (counts.length !== buckets.length || nameBuckets.length !== s.names.length) throw new RangeError('vectorizer snapshot: array lengths do not match');
    for (let k = 0; k < buckets.length; k++) {
      if (!(buckets[k]! >= 0 && buckets[k]! < v.df.length)) throw new RangeError(`vectorizer snapshot: bucket ${buckets[k]} outside ${v.df.length} dimensions`);
      v.df[buckets[k]!] = counts[k]!;
    }
    for (let k = 0; k < nameBuckets.length; k++) v.names.set(nameBuckets[k]!, s.names[k]!);
    return v;
  }

  // Vectors are views into shared slabs: V8 gives a typed array over 64 bytes its own off-heap buffer,
  // measured at 0.5-1.5 µs each against ~50 ns for a view, and with bigrams many documents have more than
  // 16 terms. A slab stays alive while any of its vectors does; long-lived holders copy (the threshold
  // tracker's reservoir does), so retained memory stays at a few slabs.
  private slab = new ArrayBuffer(SLAB_BYTES);
  private slabUsed = 0;
  private scratch = new Int32Array(64);
  private order = new Int32Array(64);
  private scratchLength = 0;

  /** Hashes tokens into the scratch buffer, sorted by bucket (insertion sort: documents are short). */
  private hashAll(tokens: readonly string[], hashes: ArrayLike<number> | undefined): number {
    const n = tokens.length;
    if (hashes !== undefined && hashes.length < n) {
      throw new RangeError(`hashes must hold a hash per token: ${hashes.length} for ${n} tokens`);
    }
    if (this.scratch.length < n) {
      this.scratch = new Int32Array(n * 2);
      this.order = new Int32Array(n * 2);
    }
    const sc = this.scratch;
    const ord = this.order;
    if (n > INSERTION_SORT_MAX) {
      // A long description (16,000 characters: ~6,400 tokens with pairs) took 76 ms by insertion sort, 946 ms at
      // 100,000: the same order (bucket, then position) by an O(n log n) sort of positions.
      const hs = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        hs[i] = (hashes === undefined ? hashTerm(tokens[i]!) : hashes[i]!) & this.mask;
        ord[i] = i;
      }
      ord.subarray(0, n).sort((a, b) => hs[a]! - hs[b]! || a - b);
      for (let i = 0; i < n; i++) sc[i] = hs[ord[i]!]!;
      this.scratchLength = n;
      return n;
    }
    for (let i = 0; i < n; i++) {
      const h = (hashes === undefined ? hashTerm(tokens[i]!) : hashes[i]!) & this.mask;
      let p = i;
      while (p > 0 && sc[p - 1]! > h) {
        sc[p] = sc[p - 1]!;
        ord[p] = ord[p - 1]!;
        p--;
      }
      sc[p] = h;
      ord[p] = i;
    }
    this.scratchLength = n;
    return n;
  }

  /** TF-IDF weights of the first n scratch entries (sorted buckets, repeats = term frequency). */
  private weigh(n: number): SparseVector {
    const sc = this.scratch;
    let distinct = 0;
    for (let i = 0; i < n; i++) if (i === 0 || sc[i] !== sc[i - 1]) distinct++;
    let idx: Int32Array;
    let val: Float32Array;
    const bytes = 8 * distinct;
    if (bytes > SLAB_BYTES / 8) {
      idx = new Int32Array(distinct);
      val = new Float32Array(distinct);
    } else {
      if (this.slabUsed + bytes > SLAB_BYTES) {
        this.slab = new ArrayBuffer(SLAB_BYTES);
        this.slabUsed = 0;
      }
      idx = new Int32Array(this.slab, this.slabUsed, distinct);
      val = new Float32Array(this.slab, this.slabUsed + 4 * distinct, distinct);
      this.slabUsed += bytes;
    }
    this.weighInto(n, idx, val);
    return { idx, val };
  }

  /** Writes the weights of the first n scratch entries into idx/val (room for n); returns how many terms. */
  private weighInto(n: number, idx: Int32Array, val: Float32Array): number {
    const sc = this.scratch;
    let norm = 0;
    let k = 0;
    for (let i = 0; i < n; k++) {
      const index = sc[i]!;
      let tf = 0;
      while (i < n && sc[i] === index) {
        tf++;
        i++;
      }
      // Most terms occur once: 1 + ln(1) is exactly 1, so the logarithm is skipped, not approximated.
      const w = (tf === 1 ? 1 : this.sublinearTf ? 1 + Math.log(tf) : tf) * this.idf(index);
      idx[k] = index;
      val[k] = w;
      norm += w * w;
    }
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let i = 0; i < k; i++) val[i] = val[i]! * inv;
    }
    return k;
  }

  private remember(index: number, term: string): void {
    if (this.names.size >= this.maxNames && !this.names.has(index)) this.evictNames();
    this.names.set(index, detached(term));
  }

  /**
   * Drops the rarest tenth of remembered names (ties: older entry first). Deterministic. The names dropped
   * are those a sort by (document frequency, insertion order) puts first: every name rarer than the
   * frequency D of the last one dropped, and the oldest names at D. D comes from a sorted copy of the
   * frequencies, so no object per name and no comparator sort (once the table is full this runs every
   * tenth of it, and sorting 100,000 entries was 2.5% of a 1M-event bench run, measured with --cpu-prof).
   */
  private evictNames(): void {
    const names = this.names;
    // A tenth of the bound; or down below it at once, after the bound was lowered (setMaxNames).
    const drop = Math.min(names.size, Math.max(1, Math.floor(this.maxNames / 10), names.size - this.maxNames + 1));
    if (drop === 0) return;
    // Frequencies in the Map's order (read once: df is large and these reads miss the cache), then sorted.
    const dfs = new Uint32Array(names.size);
    let n = 0;
    for (const i of names.keys()) dfs[n++] = this.df[i]!;
    const sorted = dfs.slice().sort();
    const cut = sorted[drop - 1]!;
    let atCut = drop; // how many names with frequency `cut` go: those not already taken by rarer names
    for (let j = 0; j < drop; j++) if (sorted[j]! < cut) atCut--;
    // Deleting the entry just visited is safe while iterating a Map: iteration goes on with the next one.
    let k = 0;
    for (const i of names.keys()) {
      const df = dfs[k++]!;
      if (df < cut) names.delete(i);
      else if (df === cut && atCut > 0) {
        names.delete(i);
        atCut--;
      }
    }
  }
}

/** Dot product of two sparse vectors. */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let s = 0;
  while (i < a.idx.length && j < b.idx.length) {
    const x = a.idx[i]!;
    const y = b.idx[j]!;
    if (x === y) s += a.val[i++]! * b.val[j++]!;
    else if (x < y) i++;
    else j++;
  }
  return s;
}

/**
 * Batch TF-IDF: document frequencies from the whole batch first, then weights. Returns vectors in the
 * vectorizer's hashed space, so batch centroids compare with online ones.
 */
export function fitTransform(docs: readonly (readonly string[])[], opts: VectorizerOptions = {}): {
  vectorizer: HashingVectorizer;
  vectors: SparseVector[];
} {
  const vectorizer = new HashingVectorizer(opts);
  for (const d of docs) vectorizer.update(d);
  return { vectorizer, vectors: docs.map((d) => vectorizer.transform(d)) };
}
