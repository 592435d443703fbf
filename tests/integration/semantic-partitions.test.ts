// The model by meaning with partitions consumed concurrently (kafka.partitionsConcurrently > 1): a batch's
// texts are embedded first, and another partition's batch may start while this one is being placed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAssigner } from '../../src/pipeline/assigner.js';
import { defaultModelDir } from '../../src/text/embed/index.js';
import type { SourceBatch } from '../../src/sources/index.js';
import { chunkedIngestor, embeddedStore, silentLog, testConfig, uniqueName } from '../helpers/env.js';

const SAMPLE = new URL('../../examples/sample-events.ndjson', import.meta.url);
const MODEL = defaultModelDir('bge-small');
const present = existsSync(join(MODEL, 'model.onnx')) && existsSync(join(MODEL, 'tokenizer.json'));

describe.skipIf(!present)('clustering by meaning, two partitions at once (embedded chDB, bge-small)', () => {
  const config = testConfig({ 'cluster.embedder': 'bge-small', 'cluster.pipeline': uniqueName('sem') });
  const db = embeddedStore(config);

  it('places both partitions\u2019 batches, each from its own vectors', async () => {
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n').filter((l) => l.startsWith('{"event_id"'));
    const topic = uniqueName('sem');
    // Over 500 events each: placing pauses every 500, where the other partition's batch gets its turn.
    const batch = (partition: number, from: number): SourceBatch => ({
      topic,
      partition,
      generation: 1,
      behind: false,
      messages: lines.slice(from, from + 700).map((l, i) => ({ offset: BigInt(i), key: null, value: Buffer.from(l), timestampMs: 0 })),
    });
    const real = await createAssigner(config, db.store.client, silentLog);
    expect(real.embedsFirst).toBe(true);
    // The second batch's embedding starts once the first batch is being placed: where the pipeline's own
    // scheduling can put it, made certain here.
    let placing!: () => void;
    const firstPlacing = new Promise<void>((r) => (placing = r));
    let prepares = 0;
    const assigner = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop === 'prepare')
          return async (texts: readonly string[], heartbeat: () => Promise<void>) => {
            if (++prepares === 2) await firstPlacing;
            return target.prepare(texts, heartbeat);
          };
        if (prop === 'assign')
          return (...args: Parameters<typeof target.assign>) => {
            placing();
            return target.assign(...args);
          };
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const ing = chunkedIngestor(db.store.client, config, { assigner, chunkRows: 1000 });
    const ctx = { isStale: () => false, heartbeat: async () => {} };
    const results = await Promise.allSettled([ing.handle(batch(0, 0), ctx), ing.handle(batch(1, 700), ctx)]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'stored'))).toEqual(['stored', 'stored']);
  });
});
