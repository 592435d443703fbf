import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/text/embed/index.js';
import { recur } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

const SAMPLE = new URL('../../examples/sample-events.ndjson', import.meta.url);
const MODEL = defaultModelDir('bge-small');
const present = existsSync(join(MODEL, 'model.onnx')) && existsSync(join(MODEL, 'tokenizer.json'));
if (!present) console.warn(`semantic.test skipped: no model in ${MODEL} (run bash scripts/fetch-model.sh bge-small-en-v15-q)`);

describe.skipIf(!present)('live clustering by meaning (real process, embedded chDB, bge-small)', () => {
  it('places events by embedding, survives a restart from its snapshot, and a re-run stores nothing new', () => {
    const dir = tempDir();
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const first = join(dir, 'first.ndjson');
    const second = join(dir, 'second.ndjson');
    writeFileSync(first, `${lines.slice(0, 500).join('\n')}\n`);
    writeFileSync(second, `${lines.slice(500, 800).join('\n')}\n`);
    const env = { RECUR_CLUSTER_EMBEDDER: 'bge-small' };
    const run = (file: string) => recur(['run', '--input', file, '--data-dir', join(dir, 'data'), '--json'], { env });

    const a = run(first);
    expect(a.code, a.stderr).toBe(0);
    const sa = JSON.parse(a.stdout) as { events_stored: number; clusters: number };
    expect(sa.events_stored).toBeGreaterThan(400);
    expect(sa.clusters).toBeGreaterThan(1);
    expect(sa.clusters).toBeLessThan(sa.events_stored / 3);

    const b = run(second);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/model restored from snapshot/);
    const sb = JSON.parse(b.stdout) as { events_stored: number };

    const again = run(first);
    expect(again.code, again.stderr).toBe(0);

    const listed = recur(['clusters', '--data-dir', join(dir, 'data'), '--json', '--limit', '10000']);
    expect(listed.code, listed.stderr).toBe(0);
    const clusters = JSON.parse(listed.stdout) as { cluster_id: string; contacts: number; label: string }[];
    // Every event counted once, under the semantic model's ids, with readable labels.
    expect(clusters.reduce((s, c) => s + c.contacts, 0)).toBe(sa.events_stored + sb.events_stored);
    for (const c of clusters) expect(c.cluster_id).toMatch(/^s_\d+$/);
    expect(clusters.filter((c) => c.label.length > 0).length).toBeGreaterThan(clusters.length / 2);
  });
});
