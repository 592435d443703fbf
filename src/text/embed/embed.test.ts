import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CachingEmbedder, cacheKey, createEmbedder, defaultModelDir, MODELS, type Embedder, type ModelKind } from './index.js';

class FakeEmbedder implements Embedder {
  readonly name = 'fake';
  readonly dimensions = 2;
  calls: string[][] = [];
  async embed(texts: string[]): Promise<Float32Array[]> {
    this.calls.push(texts);
    return texts.map((t) => Float32Array.from([t.length, 1]));
  }
}

describe('CachingEmbedder', () => {
  it('keys by case- and whitespace-folded text, which an uncased tokenizer folds anyway', () => {
    expect(cacheKey('  Card  NOT\tworking ')).toBe('card not working');
  });

  it('counts hits and misses, embeds each distinct miss once', async () => {
    const inner = new FakeEmbedder();
    const c = new CachingEmbedder(inner, 10);
    await c.embed(['card declined', 'Card declined', 'refund']);
    expect(inner.calls).toEqual([['card declined', 'refund']]);
    const again = await c.embed(['refund', 'new one']);
    expect(inner.calls[1]).toEqual(['new one']);
    expect(Array.from(again[0]!)).toEqual([6, 1]);
    expect(c.stats).toEqual({ hits: 2, misses: 3, size: 3, capacity: 10 });
  });

  it('evicts the least recently used entry', async () => {
    const inner = new FakeEmbedder();
    const c = new CachingEmbedder(inner, 2);
    await c.embed(['a']);
    await c.embed(['b']);
    await c.embed(['a']); // a is now the most recent
    await c.embed(['c']); // evicts b
    await c.embed(['a', 'b']);
    expect(inner.calls).toEqual([['a'], ['b'], ['c'], ['b']]);
  });
});

describe('createEmbedder fallback', () => {
  it('returns null with a reason for kind none', async () => {
    const r = await createEmbedder({ kind: 'none' });
    expect(r.embedder).toBeNull();
    expect(r.reason).toMatch(/disabled/);
  });

  it('returns null naming the missing files and the fix', async () => {
    const r = await createEmbedder({ kind: 'minilm', modelDir: '/nonexistent/recur-model' });
    expect(r.embedder).toBeNull();
    expect(r.reason).toMatch(/model\.onnx, tokenizer\.json.*fetch-model\.sh/);
  });
});

for (const kind of Object.keys(MODELS) as ModelKind[]) {
  const dir = defaultModelDir(kind);
  const present = existsSync(join(dir, 'model.onnx')) && existsSync(join(dir, 'tokenizer.json'));
  const fix = `bash scripts/fetch-model.sh ${MODELS[kind].dirName}`;
  if (!present) console.warn(`embed.test: ${kind} inference cases skipped: no model in ${dir} (run ${fix})`);

  describe.skipIf(!present)(`${kind} inference${present ? '' : ` [skipped: no model in ${dir} — run ${fix}]`}`, () => {
    const made = present ? createEmbedder({ kind, modelDir: dir, cacheSize: 0, batchSize: 4 }) : undefined;
    afterAll(async () => (await made)?.embedder?.close());
    const cos = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

    it('gives unit 384-d vectors where paraphrases are closer than unrelated texts', async () => {
      const { embedder } = await made!;
      expect(embedder!.dimensions).toBe(384);
      const [a, b, c] = await embedder!.embed(['My card was declined at the shop', 'the store refused my card payment', 'How do I change my PIN?']);
      for (const v of [a!, b!, c!]) expect(Math.hypot(...v)).toBeCloseTo(1, 4);
      expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!) + 0.1);
    });

    // An fp32 export gives cos 1.0000 here (masking is exact). The quantised ones quantise activations per
    // tensor (DynamicQuantizeLinear), so batch-mates shift the scale a little: measured cos ≈ 0.994.
    it('barely depends on batch padding: a text alone ≈ the same text padded in a batch', async () => {
      const { embedder } = await made!;
      const text = 'Why is there a fee on my transfer?';
      const [alone] = await embedder!.embed([text]);
      const batch = await embedder!.embed(['hi', text, 'I would like to know why my top-up from my bank card is still pending after three days']);
      expect(cos(alone!, batch[1]!)).toBeGreaterThan(0.98);
    });
  });
}
