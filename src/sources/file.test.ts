import { appendFileSync, copyFileSync, fstatSync, mkdtempSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../cluster/prng.js';
import { PipelineError } from '../errors.js';
import { LineSource, MAX_BATCH_BYTES, fileIdentity, splitLines, type FileIdentity } from './file.js';
import type { SourceBatch } from './types.js';

async function lines(chunks: Buffer[], max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const l of splitLines(Readable.from(chunks), max)) out.push(l.toString('latin1'));
  return out;
}

/** `text` cut into pieces of random sizes (1–17 bytes): lines span reads in every way. */
function pieces(text: string, seed: number): Buffer[] {
  const u = mulberry32(seed);
  const b = Buffer.from(text, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    const n = 1 + Math.floor(u() * 17);
    out.push(b.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('splitLines', () => {
  it('gives the same lines however the bytes are cut into reads', async () => {
    const text = 'first\n\nsecond line\r\n' + 'x'.repeat(100) + '\nlast without newline';
    const expected = ['first', '', 'second line\r', 'x'.repeat(100), 'last without newline'];
    for (let seed = 1; seed <= 20; seed++) expect(await lines(pieces(text, seed))).toEqual(expected);
  });

  it('keeps only max + 1 bytes of a longer line, so the decoder refuses it as oversize, and the next line whole', async () => {
    const long = Buffer.alloc(48 * 1024 * 1024, 0x61);
    const chunks: Buffer[] = [];
    for (let i = 0; i < long.length; i += 65_536) chunks.push(long.subarray(i, i + 65_536));
    chunks.push(Buffer.from('\n{"next":1}\n'));
    const got = await lines(chunks, 1024);
    expect(got.map((l) => l.length)).toEqual([1025, 10]);
    expect(got[1]).toBe('{"next":1}');
    // Within one read too.
    expect((await lines([Buffer.from(`${'b'.repeat(5000)}\nok\n`)], 1024)).map((l) => l.length)).toEqual([1025, 2]);
  });
});

describe('LineSource', () => {
  it('hands a live pipe\'s lines to the pipeline when it pauses, not only when a whole batch has come', async () => {
    const pipe = new PassThrough();
    const source = LineSource.fromStdin(pipe, 'live', 20_000);
    const batches: SourceBatch[] = [];
    let seen!: () => void;
    const first = new Promise<void>((r) => (seen = r));
    const running = source.run(async (b) => {
      batches.push(b);
      seen();
      return { storedThrough: b.messages[b.messages.length - 1]!.offset };
    });
    pipe.write('{"a":1}\n{"a":2}\n{"a":3}\n');
    // The pipe stays open: before, these three lines waited for 19,997 more or the end of input.
    const outcome = await Promise.race([first.then(() => 'handled'), new Promise((r) => setTimeout(() => r('still waiting'), 3_000))]);
    expect(outcome).toBe('handled');
    expect(batches[0]!.messages.map((m) => m.value!.toString())).toEqual(['{"a":1}', '{"a":2}', '{"a":3}']);
    pipe.end('{"a":4}\n');
    await running;
    expect(batches.flatMap((b) => b.messages.map((m) => Number(m.offset)))).toEqual([0, 1, 2, 3]);
  });

  it('stops at once while a live pipe waits for its next line', async () => {
    const pipe = new PassThrough();
    const source = LineSource.fromStdin(pipe, 'live', 20_000);
    const handled: number[] = [];
    const running = source.run(async (b) => {
      handled.push(...b.messages.map((m) => Number(m.offset)));
      return { storedThrough: b.messages[b.messages.length - 1]!.offset };
    });
    pipe.write('{"a":1}\n');
    await new Promise((r) => setTimeout(r, 500));
    await source.stop();
    // Before, the run went on waiting for the pipe's next line or its end (SIGTERM then took 30 s and exit 1).
    const outcome = await Promise.race([running.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still reading'), 2_000))]);
    expect(outcome).toBe('ended');
    expect(handled).toEqual([0]);
  });

  it('ends without an error when stopped while a partial batch waits for the pipe to pause', async () => {
    const pipe = new PassThrough();
    const source = LineSource.fromStdin(pipe, 'live', 20_000);
    const running = source.run(async (b) => ({ storedThrough: b.messages[b.messages.length - 1]!.offset }));
    pipe.write('{"a":1}\n');
    await new Promise((r) => setTimeout(r, 50));
    // Before, the read stop() closed rejected inside the wait for a pause: run() failed with "Premature close",
    // and the job skipped its last checkpoint and exited 1 on SIGTERM.
    await source.stop();
    await expect(running).resolves.toBeUndefined();
  });

  it('ends as stopped, not failed, when a batch gives up at shutdown (the next run reads it again)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-file-'));
    const file = join(dir, 'events.ndjson');
    writeFileSync(file, '{"a":1}\n{"a":2}\n');
    const source = LineSource.fromFile(file, 20_000);
    const running = source.run(async () => {
      // SIGTERM while the batch's write was being retried: the write gives up with a shutdown error.
      await source.stop();
      throw new PipelineError('shutdown', 'pipeline', 'stopped while retrying case_events');
    });
    // Before, run() rejected: the job skipped its last checkpoint, trend flush and alert drain, and exited 1.
    await expect(running).resolves.toBeUndefined();
    // A failure that is not a stop still fails the run.
    const failing = LineSource.fromFile(file, 20_000).run(async () => {
      throw new Error('disk full');
    });
    await expect(failing).rejects.toThrow('disk full');
  });

  it('reads through the descriptor its identity was taken from exactly the bytes that identity names: lines appended meanwhile are the next run\'s, as the same input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-file-'));
    const file = join(dir, 'growing.ndjson');
    writeFileSync(file, '{"a":1}\n{"a":2}\n{"a":3}\n');
    const read = async (source: LineSource) => {
      const got: string[] = [];
      await source.run(async (b) => {
        got.push(...b.messages.map((m) => `${m.offset}:${m.value!.toString()}`));
        return { storedThrough: b.messages[b.messages.length - 1]!.offset };
      });
      return got;
    };
    const fd = openSync(file, 'r');
    const first = fileIdentity(file, [], fd);
    // The exporter appends while the run starts (before, a run read these lines under an identity whose hash
    // covered them and whose size did not: no later run matched it, and every line was stored again).
    appendFileSync(file, '{"a":4}\n{"a":5}\n');
    expect(await read(LineSource.fromFile(file, 20_000, undefined, first, fd))).toEqual(['0:{"a":1}', '1:{"a":2}', '2:{"a":3}']);
    const next = fileIdentity(file, [first]);
    expect([next.topic, next.bytes]).toEqual([first.topic, 40]);
    // Rotated away (renamed) after it was opened: read through the descriptor all the same.
    const rfd = openSync(file, 'r');
    const rotated = fileIdentity(file, [], rfd);
    renameSync(file, `${file}.1`);
    expect(await read(LineSource.fromFile(file, 20_000, undefined, rotated, rfd))).toHaveLength(5);
    // An empty file taken so: nothing read, and its descriptor closed.
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    const efd = openSync(empty, 'r');
    expect(await read(LineSource.fromFile(empty, 20_000, undefined, fileIdentity(empty, [], efd), efd))).toEqual([]);
    expect(() => fstatSync(efd)).toThrow(/EBADF/);
  });

  it('skips lines of whitespace only, as empty ones, keeping line numbers as offsets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-file-'));
    const file = join(dir, 'events.ndjson');
    writeFileSync(file, '{"a":1}\n   \n\t\r\n\n{"a":2}\n');
    const offsets: number[] = [];
    await LineSource.fromFile(file, 20_000).run(async (b) => {
      offsets.push(...b.messages.map((m) => Number(m.offset)));
      return { storedThrough: b.messages[b.messages.length - 1]!.offset };
    });
    expect(offsets).toEqual([0, 4]);
  });

  it('bounds a batch by bytes as well as lines, so long lines do not all go to the pipeline at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-file-'));
    const file = join(dir, 'events.ndjson');
    const line = `{"description":"${'x'.repeat(1024 * 1024)}"}`;
    writeFileSync(file, `${Array.from({ length: 40 }, () => line).join('\n')}\n`);
    const sizes: number[] = [];
    await LineSource.fromFile(file, 80_000, 2 * 1024 * 1024).run(async (b) => {
      sizes.push(b.messages.reduce((n, m) => n + m.value!.length, 0));
      return { storedThrough: b.messages[b.messages.length - 1]!.offset };
    });
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40 * line.length);
    expect(sizes.length).toBeGreaterThan(2);
    for (const n of sizes) expect(n).toBeLessThan(MAX_BATCH_BYTES + line.length);
  });
});

describe('fileIdentity', () => {
  it('keeps the input a file continues the latest content of, grown by lines or copied, and only then', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-topic-'));
    const known: FileIdentity[] = [];
    /** As a run does: what it reads, recorded. */
    const run = (path: string) => {
      const id = fileIdentity(path, known);
      known.push(id);
      return id.topic;
    };
    const x = join(dir, 'export.ndjson');
    writeFileSync(x, '{"a":1}\n{"a":2}\n');
    const first = run(x);
    expect(first).toMatch(/^file:export\.ndjson#[0-9a-f]{16}:16$/);
    expect(run(x)).toBe(first);
    // Grown by lines: the same input, so its first lines are not stored again; and again.
    appendFileSync(x, '{"a":3}\n');
    expect(run(x)).toBe(first);
    appendFileSync(x, '{"a":4}\n');
    expect(run(x)).toBe(first);
    // Under another name: the same input.
    const copy = join(dir, 'copy.ndjson');
    copyFileSync(x, copy);
    expect(run(copy)).toBe(first);
    // Its first lines with another tail than the one last run (regenerated): a new input, or its tail's lines,
    // at offsets the input already holds, would be skipped.
    const z = join(dir, 'regenerated.ndjson');
    writeFileSync(z, '{"a":1}\n{"a":2}\n{"a":30}\n{"a":40}\n{"a":50}\n');
    expect(run(z)).not.toBe(first);
    // A line changed: a new input.
    const edited = join(dir, 'edited.ndjson');
    writeFileSync(edited, '{"a":1}\n{"a":9}\n{"a":3}\n{"a":4}\n');
    expect(run(edited)).not.toBe(first);
  });

  it('a last line without its newline: the same input when lines follow it whole, another when it was continued', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-topic-'));
    const v = join(dir, 'open.ndjson');
    writeFileSync(v, '{"a":1}\n{"a":2}');
    const first = fileIdentity(v, []);
    appendFileSync(v, '\n{"a":3}\n');
    expect(fileIdentity(v, [first]).topic).toBe(first.topic);
    const w = join(dir, 'continued.ndjson');
    writeFileSync(w, '{"a":1}\n{"a":2');
    const open = fileIdentity(w, []);
    appendFileSync(w, '0}\n');
    expect(fileIdentity(w, [open]).topic).not.toBe(open.topic);
  });

  it('keeps a topic of a store from before (the whole file hashed, no size)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'recur-topic-'));
    const a = join(dir, 'old.ndjson');
    writeFileSync(a, '{"a":1}\n');
    const { sha } = fileIdentity(a, []);
    const legacy = `file:old.ndjson#${sha}`;
    expect(fileIdentity(a, [{ topic: legacy, bytes: -1, sha }]).topic).toBe(legacy);
  });
});
