import { describe, expect, it } from 'vitest';
import { clusterIdPrefix } from './assigner.js';

describe('clusterIdPrefix', () => {
  it('keeps the default pipeline\'s ids as they were and puts any other pipeline\'s name in its ids', () => {
    expect(clusterIdPrefix('c_', 'default')).toBe('c_');
    expect(clusterIdPrefix('m_', 'eu-west.2')).toBe('m_eu-west.2:');
  });

  it('never gives two pipelines one id, whatever their names', () => {
    const pipelines = ['default', 'a', 'a_1', 'a_1_2', '1', '1_2', 'c', 'v2', 'default_1'];
    const owner = new Map<string, string>();
    for (const p of pipelines) {
      for (let n = 0; n < 200; n++) {
        const id = `${clusterIdPrefix('c_', p)}${n}`;
        expect(owner.get(id) ?? p, id).toBe(p);
        owner.set(id, p);
      }
    }
    // Nor one that `recur rerun` gives its new clusters (c_v<version>_<n>): a pipeline named v2 gave c_v2_0 too.
    for (let n = 0; n < 200; n++) expect(owner.has(`c_v2_${n}`)).toBe(false);
  });
});
