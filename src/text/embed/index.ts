// Sentence embeddings for semantic clustering: local ONNX sentence encoders (bge-small-en-v1.5, all-MiniLM-L6-v2)
// with their WordPiece tokenizer, an LRU cache, and the fallback decision when no model is installed (then: lexical).
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CachingEmbedder } from './cache.js';
import type { Pooling } from './onnx-encoder.js';

export type { Embedder } from './types.js';
export { CachingEmbedder, cacheKey, type CacheStats } from './cache.js';
export { WordPieceTokenizer, wordPieceConfigFromJson, TokenizerConfigError, type Encoding, type WordPieceConfig } from './wordpiece.js';
export type { OnnxEncoderOptions, Pooling } from './onnx-encoder.js';
export { clusterOnline, DenseOnlineClusterer, DENSE_ONLINE_DEFAULTS, type DenseOnlineOptions, type DenseOnlineResult } from './dense-online.js';

export const MODEL_FILES = ['model.onnx', 'tokenizer.json'] as const;

/**
 * Models scripts/fetch-model.sh can install (both int8-quantised ONNX, 384-d, 128 tokens). Banking77 test,
 * K = 77, k-means on the raw embeddings: bge-small NMI 0.827 at ~560 texts/s on 2 cores; MiniLM NMI 0.790
 * at ~950 texts/s (see README.md). bge-small pools the [CLS] row; MiniLM averages over the attention mask.
 */
export const MODELS = {
  'bge-small': { dirName: 'bge-small-en-v15-q', pooling: 'cls' },
  minilm: { dirName: 'all-minilm-l6-v2-q', pooling: 'mean' },
} as const satisfies Record<string, { dirName: string; pooling: Pooling }>;

export type ModelKind = keyof typeof MODELS;

export interface CreateEmbedderOptions {
  kind: ModelKind | 'none';
  /** Folder with model.onnx + tokenizer.json. Default defaultModelDir(kind). */
  modelDir?: string;
  /** LRU entries; 0 disables the cache. Default 50,000 (≈ 80 MB of 384-d vectors). */
  cacheSize?: number;
  batchSize?: number;
  threads?: number;
  spin?: boolean;
  pooling?: Pooling;
  prefix?: string;
}

export type CreateEmbedderResult = { embedder: CachingEmbedder; reason: null } | { embedder: null; reason: string };

/** `${RECUR_MODEL_DIR:-~/.cache/recur/models}/<model>`, where scripts/fetch-model.sh puts it. */
export function defaultModelDir(kind: ModelKind = 'bge-small', env: NodeJS.ProcessEnv = process.env): string {
  const root = env.RECUR_MODEL_DIR !== undefined && env.RECUR_MODEL_DIR !== '' ? env.RECUR_MODEL_DIR : join(homedir(), '.cache', 'recur', 'models');
  return join(root, MODELS[kind].dirName);
}

/** The model's folder under a configured root (`cluster.modelDir`), else the default one. */
export function modelDirFor(kind: ModelKind, root?: string): string {
  return root ? join(root, MODELS[kind].dirName) : defaultModelDir(kind);
}

/** Model files missing from dir, [] when all are there. */
export async function missingModelFiles(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (const f of MODEL_FILES) {
    try {
      await access(join(dir, f));
    } catch {
      missing.push(f);
    }
  }
  return missing;
}

/**
 * The configured embedder, or null with the reason when it cannot run here (kind 'none', model files not
 * fetched, onnxruntime-node not loadable) — the caller then clusters lexically. A model that is present but
 * broken (bad tokenizer.json, corrupt ONNX) throws: that is a set-up error, not a fallback.
 */
export async function createEmbedder(opts: CreateEmbedderOptions): Promise<CreateEmbedderResult> {
  if (opts.kind === 'none') return { embedder: null, reason: 'embeddings disabled (kind "none")' };
  const model = MODELS[opts.kind];
  if (model === undefined) throw new RangeError(`embedder kind must be one of none, ${Object.keys(MODELS).join(', ')}; got ${JSON.stringify(opts.kind)}`);
  const dir = opts.modelDir ?? defaultModelDir(opts.kind);
  const missing = await missingModelFiles(dir);
  if (missing.length > 0) {
    return { embedder: null, reason: `model files missing in ${dir}: ${missing.join(', ')} (run: bash scripts/fetch-model.sh ${model.dirName})` };
  }
  let mod: typeof import('./onnx-encoder.js');
  try {
    mod = await import('./onnx-encoder.js');
    await import('onnxruntime-node');
  } catch (err) {
    return { embedder: null, reason: `onnxruntime-node cannot load: ${(err as Error).message}` };
  }
  const enc = await mod.OnnxSentenceEncoder.open({
    modelDir: dir,
    ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.spin === undefined ? {} : { spin: opts.spin }),
    pooling: opts.pooling ?? model.pooling,
    ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
  });
  return { embedder: new CachingEmbedder(enc, opts.cacheSize ?? 50_000), reason: null };
}
