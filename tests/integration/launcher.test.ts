import { spawn, spawnSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../helpers/env.js';

const LAUNCHER = fileURLToPath(new URL('../../bin/recur', import.meta.url));

/** A preload that says its PID and then waits to be signalled. */
const hold = join(tempDir(), 'hold.cjs');
writeFileSync(hold, `process.stdout.write(process.pid + '\\n'); setInterval(() => {}, 1000);`);

/** Runs the launcher (or a link to it) with a preload that reports what Node was started with, then exits 7. */
function launch(path: string, args: string[], env: Record<string, string> = {}) {
  const dir = tempDir();
  const probe = join(dir, 'probe.cjs');
  writeFileSync(probe, `process.stdout.write(JSON.stringify({ mmap: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, argv: process.argv.slice(2), script: process.argv[1], pid: process.pid })); process.exit(7);`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MALLOC_MMAP_THRESHOLD_'));
  const r = spawnSync(path, args, { env: { ...clean, ...env, NODE_OPTIONS: `--require "${probe}"` }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, pid: r.pid, out: JSON.parse(r.stdout) as { mmap: string | null; argv: string[]; script: string; pid: number } };
}

describe('the recur launcher (bin/recur, the package command)', () => {
  it("starts bin/recur.js with a fixed allocator mmap threshold, its arguments as given, and Node's exit code", () => {
    const r = launch(LAUNCHER, ['run', '--input', 'a file with spaces.ndjson', '']);
    expect(r.code).toBe(7);
    expect(r.out).toEqual({ mmap: '131072', argv: ['run', '--input', 'a file with spaces.ndjson', ''], script: fileURLToPath(new URL('../../bin/recur.js', import.meta.url)), pid: r.pid });
  });

  it('becomes Node (exec: the same process, so a signal sent to the command reaches the pipeline)', async () => {
    const child = spawn(LAUNCHER, ['run'], { env: { ...process.env, NODE_OPTIONS: `--require "${hold}"` }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    await waitFor('the launched pid', async () => out.includes('\n'));
    // Its first line: the module loader's hooks thread (tsx registers ESM hooks, which Node 20 runs in a thread of
    // their own) runs the preload too, and may have said the same pid again by the time this reads (the CI run
    // at 7a7eab1 read "pid\npid").
    expect(Number(out.split('\n')[0])).toBe(child.pid);
    child.kill('SIGTERM');
    expect(await closed).toBe('SIGTERM');
  });

  it("keeps an operator's own threshold (an empty one is unset), and works through links as npm installs commands", () => {
    expect(launch(LAUNCHER, [], { MALLOC_MMAP_THRESHOLD_: '' }).out.mmap).toBe('131072');
    // A relative link to a link, as npm's .bin/recur points into the package.
    const dir = tempDir();
    symlinkSync(LAUNCHER, join(dir, 'first'));
    symlinkSync('first', join(dir, 'recur'));
    const link = join(dir, 'recur');
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
