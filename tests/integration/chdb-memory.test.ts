import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';

const PROBE = fileURLToPath(new URL('../helpers/chdb-allocator-probe.ts', import.meta.url));

/** The allocator options a fresh process's embedded chDB reports, with this environment. */
function allocatorOptions(env: Record<string, string>): string {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RECUR_') && k !== 'JE_MALLOC_CONF'));
  const r = spawnSync(process.execPath, ['--import', 'tsx', PROBE, tempDir()], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

// chDB builds its jemalloc with dirty_decay_ms 5,000: freed pages stay resident for 5 s of churn,
// ~95 MB of a worker's peak RSS with ~8,000 live clusters (README, "Measured figures").
describe("embedded chDB's allocator", () => {
  it('returns freed memory after clickhouse.memoryReturnMs, 250 by default', () => {
    const out = allocatorOptions({});
    expect(out).toMatch(/opt\.dirty_decay_ms: 250\b/);
    expect(out).toMatch(/^env JE_MALLOC_CONF=\(unset\)$/m); // put back once chDB has read it
    expect(allocatorOptions({ RECUR_CLICKHOUSE_MEMORY_RETURN_MS: '5000' })).toMatch(/opt\.dirty_decay_ms: 5000\b/);
  });

  it("leaves the last word to an operator's own JE_MALLOC_CONF", () => {
    const out = allocatorOptions({ RECUR_CLICKHOUSE_MEMORY_RETURN_MS: '100', JE_MALLOC_CONF: 'dirty_decay_ms:4000' });
    expect(out).toMatch(/opt\.dirty_decay_ms: 4000\b/);
    expect(out).toMatch(/opt\.muzzy_decay_ms: 0\b/); // chDB's own other options are kept
    expect(out).toMatch(/^env JE_MALLOC_CONF=dirty_decay_ms:4000$/m);
  });
});
