import type { Embedder } from './types.js';

// LRU cache in front of an embedder. Support texts repeat ("card not working"), and a cache hit costs a
// Map lookup against ~5 ms of inference. The key only folds what an uncased BERT tokenizer folds anyway
// (case, runs of whitespace), so a hit returns exactly the vector the model would.

export interface CacheStats {
  hits: number;
  misses: number;
  size: number;
  capacity: number;
}

export function cacheKey(text: string): string {
  return text.trim().replace(/\s+/gu, ' ').toLowerCase();
}

export class CachingEmbedder implements Embedder {
  readonly name: string;
  readonly dimensions: number;
  private readonly lru = new Map<string, Float32Array>();
  private hitCount = 0;
  private missCount = 0;

  constructor(
    readonly inner: Embedder & { close?(): Promise<void> },
    readonly capacity: number,
  ) {
    this.name = inner.name;
    this.dimensions = inner.dimensions;
  }

  get stats(): CacheStats {
    return { hits: this.hitCount, misses: this.missCount, size: this.lru.size, capacity: this.capacity };
  }

  resetStats(): void {
    this.hitCount = 0;
    this.missCount = 0;
  }

  /** Misses are embedded once each (duplicates inside one call too), in one batched call. */
  async embed(texts: string[]): Promise<Float32Array[]> {
    const keys = texts.map(cacheKey);
    const out = new Array<Float32Array | undefined>(texts.length);
    const todo = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const hit = this.capacity > 0 ? this.lru.get(key) : undefined;
      if (hit !== undefined) {
        this.lru.delete(key);
        this.lru.set(key, hit);
        out[i] = hit;
        this.hitCount++;
        return;
      }
      const waiting = todo.get(key);
      if (waiting !== undefined) {
        waiting.push(i);
        this.hitCount++;
      } else {
        todo.set(key, [i]);
        this.missCount++;
      }
    });
    if (todo.size > 0) {
      const firsts = [...todo.values()].map((is) => texts[is[0]!]!);
      const vecs = await this.inner.embed(firsts);
      let j = 0;
      for (const [key, is] of todo) {
        const v = vecs[j++]!;
        for (const i of is) out[i] = v;
        this.put(key, v);
      }
    }
    return out as Float32Array[];
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  private put(key: string, v: Float32Array): void {
    if (this.capacity <= 0) return;
    this.lru.delete(key);
    this.lru.set(key, v);
    if (this.lru.size > this.capacity) this.lru.delete(this.lru.keys().next().value!);
  }
}
