// `recur run` as a child process, configured by RECUR_* environment only, with its JSON log parsed for
// the moments the suite measures (pipeline starting, joined consumer group) and kept on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RECUR_BIN = fileURLToPath(new URL('../../bin/recur.js', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  atMs: number;
}

export interface Child {
  proc: ChildProcess;
  startedAt: number;
  /** First 'joined consumer group' after start. */
  joinedAt: number | null;
  joins: number;
  exit: Promise<Exit>;
  exited: Exit | null;
  /** Log lines with level error or above, and the fatal line printed by the CLI. */
  errors: string[];
}

/** The parent's RECUR_* variables are dropped: a child is configured only by what the suite passes. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RECUR_')) base[k] = v;
  return { ...base, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env };
}

export function spawnNode(args: string[], env: Record<string, string>, logFile: string): Child {
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, args, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { proc, startedAt: Date.now(), joinedAt: null, joins: 0, exit: null as never, exited: null, errors: [] };
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    log.write(d);
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(c, line);
    }
  });
  proc.stdout!.on('data', (d: Buffer) => log.write(d));
  c.exit = new Promise((resolve) =>
    proc.on('close', (code, signal) => {
      c.exited = { code, signal, atMs: Date.now() };
      log.end(`# exit code=${code} signal=${signal}\n`);
      resolve(c.exited);
    }),
  );
  return c;
}

function onLine(c: Child, line: string): void {
  if (line.startsWith('recur: ') && !line.includes(', stopping: what is stored stays')) c.errors.push(line.slice(0, 300));
  if (!line.startsWith('{')) return;
  try {
    const j = JSON.parse(line) as { msg?: string; level?: string };
    if (j.msg === 'joined consumer group') {
      c.joins++;
      c.joinedAt ??= Date.now();
    }
    if (j.level === 'error' || j.level === 'fatal') c.errors.push(line.slice(0, 300));
  } catch {
    /* not JSON: ignored */
  }
}

export function spawnConsumer(env: Record<string, string>, logFile: string): Child {
  return spawnNode([RECUR_BIN, 'run'], env, logFile);
}

/** SIGTERM, then the time until the process is gone (SIGKILL after `limitMs`, which is a failure). */
export async function terminate(c: Child, limitMs = 30_000): Promise<{ exit: Exit; ms: number }> {
  const t0 = Date.now();
  if (c.exited) return { exit: c.exited, ms: 0 };
  c.proc.kill('SIGTERM');
  const timer = setTimeout(() => c.proc.kill('SIGKILL'), limitMs + 5_000);
  const exit = await c.exit;
  clearTimeout(timer);
  return { exit, ms: exit.atMs - t0 };
}

export async function kill9(c: Child): Promise<Exit> {
  if (!c.exited) c.proc.kill('SIGKILL');
  return c.exit;
}
