// The contract every sentence encoder meets; kept apart so the cache and the encoders share it without cycles.

export interface Embedder {
  readonly name: string;
  readonly dimensions: number;
  /** One unit-length vector per text, in input order. */
  embed(texts: string[]): Promise<Float32Array[]>;
}
