import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../events/schema.js';
import { splitStatements } from './migrate.js';

describe('migrations', () => {
  it("013's channel bitmask lists CHANNELS in their order (bit i is CHANNELS[i]; a channel added to one must be added to the other)", () => {
    const sql = readFileSync(new URL('../../schemas/clickhouse/013_channel_bits.sql', import.meta.url), 'utf8');
    const lists = [...sql.replace(/^\s*--.*$/gm, '').matchAll(/\[('[a-z_]+'(?:, '[a-z_]+')*)\]/g)].map((m) => m[1]!.split(', ').map((s) => s.slice(1, -1)));
    // The projection, cluster_counts (the same expression), the interim v_cluster_trends' copy of it and its
    // decoding (twice), and the final v_cluster_trends' decoding (twice).
    expect(lists).toHaveLength(7);
    for (const list of lists) expect(list).toEqual([...CHANNELS]);
  });

  it('splits statements on semicolons at line ends and drops comment lines', () => {
    expect(splitStatements("-- note; here\nSELECT 1;\nSELECT ';' AS x;\n\n-- end")).toEqual(['SELECT 1', "SELECT ';' AS x"]);
  });
});
