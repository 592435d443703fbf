import { spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/env.js';

const LAUNCHER = fileURLToPath(new URL('../../bin/recur', import.meta.url));

/** Runs the launcher (or a link to it) with a preload that reports what Node was started with, then exits 7. */
function launch(path: string, args: string[], env: Record<string, string> = {}) {
  const dir = tempDir();
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, `process.stdout.write(JSON.stringify({ mmap: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, argv: process.argv.slice(2), script: process.argv[1] })); process.exit(7);`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MALLOC_MMAP_THRESHOLD_'));
  const r = spawnSync(path, args, { env: { ...clean, ...env, NODE_OPTIONS: `--require ${probe}` }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: JSON.parse(r.stdout) as { mmap: string | null; argv: string[]; script: string } };
}

describe('the recur launcher (bin/recur, the package command)', () => {
  it("starts bin/recur.js with a fixed allocator mmap threshold, its arguments as given, and Node's exit code", () => {
    const r = launch(LAUNCHER, ['run', '--input', 'a file with spaces.ndjson', '']);
    expect(r.code).toBe(7);
    expect(r.out).toEqual({ mmap: '131072', argv: ['run', '--input', 'a file with spaces.ndjson', ''], script: fileURLToPath(new URL('../../bin/recur.js', import.meta.url)) });
  });

  it("keeps an operator's own threshold, and works through a link as npm installs commands", () => {
    const link = join(tempDir(), 'recur');
    symlinkSync(LAUNCHER, link);
    const r = launch(link, ['--help'], { MALLOC_MMAP_THRESHOLD_: '262144' });
    expect(r.code).toBe(7);
    expect(r.out.mmap).toBe('262144');
    expect(r.out.script).toBe(fileURLToPath(new URL('../../bin/recur.js', import.meta.url)));
  });

  it('runs the real CLI', () => {
    const r = spawnSync(LAUNCHER, ['--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/usage: recur <command>/);
  });
});
