import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalClustering } from './clustering.js';

describe('evalClustering', () => {
  it('refuses fewer than two labelled rows instead of scoring them perfect', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-eval-'));
    const score = (rows: string) => {
      const input = join(dir, `${rows.length}.csv`);
      writeFileSync(input, `text,label\n${rows}`);
      return evalClustering({ input, textColumn: 'text', labelColumn: 'label', k: 'auto', mode: 'batch' });
    };
    // Before, an empty export scored nmi 1 and acc 1: a CI gate on them passed.
    await expect(score('')).rejects.toThrow(/has 0 labelled rows; scoring a clustering needs at least 2/);
    await expect(score('card declined,card\n')).rejects.toThrow(/has 1 labelled row;/);
    const ok = await score('card declined,card\ncard refused,card\nparcel lost,post\nparcel missing,post\n');
    expect(ok.result.docs).toBe(4);
  });
});
