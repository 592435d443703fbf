import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import type { BatchHandler, RunOptions, Source, SourceMessage } from './types.js';

/**
 * Lines handed to the pipeline at once for a given write chunk: four chunks, so the pipeline processes one
 * chunk while the previous one is written (see Ingestor.writeChunks).
 */
export function linesPerBatch(chunkRows: number): number {
  return chunkRows * 4;
}

/** Whether a source's input is read once (stdin, a pipe): its topic names the run, and nothing of it comes again. */
export function readOnce(topic: string): boolean {
  return topic.startsWith('stdin:') || topic.startsWith('pipe:');
}

/** How long a partial batch from a live pipe or stdin waits for more lines. */
export const LINGER_MS = 250;

/**
 * Bytes of lines a batch holds at most (and at least one line), as a Kafka fetch is bounded in bytes: bounded by
 * lines alone, a file of 60 KB lines went to the pipeline whole (2,000 lines, 124 MB: a 1.7 GB peak).
 */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/** A line of spaces, tabs and carriage returns only: skipped as an empty one is, not a dead letter. */
function blank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/**
 * NDJSON from a file or stdin, fed through the same pipeline as Kafka. A file's "topic" names its content (see
 * fileIdentity), and its offsets are line numbers, so re-running the same file, or one grown by lines at its end,
 * is idempotent (the ledger and dedup tokens absorb it); stdin gets a topic per run.
 */
export class LineSource implements Source {
  readonly name: string;
  private stopped = false;
  private stream: Readable | null = null;

  constructor(
    private readonly open: () => Readable,
    private readonly topic: string,
    private readonly batchRows: number,
    /** Lines are there to read (a file), not arriving live (stdin). */
    private readonly backlog = false,
    /** ingest.maxMessageBytes: a longer line is cut to one byte more, which the decoder refuses as oversize. */
    private readonly maxLineBytes = Number.POSITIVE_INFINITY,
  ) {
    this.name = topic;
  }

  /**
   * A regular file is read twice (its content hash names it, so a re-run is recognised). A pipe, FIFO or
   * device (`--input <(zcat f.gz)`) can be read once only: it is read like stdin, under a topic of its own run.
   */
  static fromFile(path: string, batchRows: number, maxLineBytes?: number, identity?: FileIdentity, fd?: number): LineSource {
    // With a descriptor: its file, whatever the path names now (rotated away since it was opened).
    if (!(fd === undefined ? statSync(path) : fstatSync(fd)).isFile()) {
      const runId = new Date().toISOString().replace(/[:.]/g, '');
      return new LineSource(() => createReadStream(path), `pipe:${basename(path)}:${runId}`, batchRows, false, maxLineBytes);
    }
    // With the descriptor its identity was taken from: exactly the bytes that identity names (what is appended
    // meanwhile is the next run's, as a continuation of this content).
    if (fd !== undefined && identity) {
      const bytes = identity.bytes;
      const open = () => (bytes > 0 ? createReadStream(path, { fd, start: 0, end: bytes - 1, autoClose: true }) : (closeSync(fd), Readable.from([])));
      return new LineSource(open, identity.topic, batchRows, true, maxLineBytes);
    }
    return new LineSource(() => createReadStream(path), (identity ?? fileIdentity(path, [])).topic, batchRows, true, maxLineBytes);
  }

  static fromStdin(stdin: Readable, runId: string, batchRows: number, maxLineBytes?: number): LineSource {
    return new LineSource(() => stdin, `stdin:${runId}`, batchRows, false, maxLineBytes);
  }

  async run(handler: BatchHandler, _opts?: RunOptions): Promise<void> {
    const ctx = { isStale: () => this.stopped, heartbeat: async () => {} };
    let batch: SourceMessage[] = [];
    let batchBytes = 0;
    let offset = 0n;
    // A full batch read from a file has more lines behind it; stdin may be a live pipe that waits.
    const flush = async (behind: boolean): Promise<void> => {
      if (batch.length === 0) return;
      const messages = batch;
      batch = [];
      batchBytes = 0;
      try {
        await handler({ topic: this.topic, partition: 0, messages, generation: 0, behind: behind && this.backlog }, ctx);
      } catch (err) {
        // Stopped during the batch (its write gave up at shutdown): abandoned, as a Kafka batch is; what of it was
        // not stored is read again by the next run of the same input. The run ends as stopped, not failed.
        if (this.stopped) return;
        throw err;
      }
    };
    this.stream = this.open();
    const reads = splitLineGroups(this.stream, this.maxLineBytes)[Symbol.asyncIterator]();
    try {
      for (let next = reads.next(); ; next = reads.next()) {
        // A live pipe (`tail -f log | recur run --input -`) may pause with a partial batch read: after
        // LINGER_MS without input it goes to the pipeline, not when batchRows lines have come (perhaps never).
        // Checked once per read of the input, not per line.
        if (!this.backlog && batch.length > 0) {
          let timer: NodeJS.Timeout | undefined;
          // A read that fails (stop() closing the input under it) ends the wait; the guarded await below decides.
          const idle = await Promise.race([next.then(() => false, () => false), new Promise<true>((r) => (timer = setTimeout(() => r(true), LINGER_MS)))]);
          clearTimeout(timer);
          if (idle && !this.stopped) await flush(false);
        }
        let read: IteratorResult<Buffer[]>;
        try {
          read = await next;
        } catch (err) {
          if (this.stopped) break; // stop() closed the input under the read
          throw err;
        }
        if (read.done || this.stopped) break;
        for (const line of read.value) {
          const current = offset++;
          if (blank(line)) continue;
          batch.push({ offset: current, key: null, value: stripCr(line), timestampMs: 0 });
          batchBytes += line.length;
          if (batch.length >= this.batchRows || batchBytes >= MAX_BATCH_BYTES) await flush(true);
          if (this.stopped) break;
        }
        if (this.stopped) break;
      }
      if (!this.stopped) await flush(false);
    } finally {
      // Ended, stopped or failed: the input is closed (an open pipe would keep the process alive).
      this.stream.destroy();
    }
  }

  /** Stops reading: a live pipe waiting for its next line is closed, so the run ends now, not at the pipe's end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stream?.destroy();
  }
}

/** A file input's content as one run read it, under the topic it is stored as (file_inputs). */
export interface FileIdentity {
  topic: string;
  bytes: number;
  sha: string;
}

/**
 * A file's topic (its offsets are line numbers). A file that continues the latest content a known input was run
 * with (that content's SHA-256 is the hash of this file's first bytes, and its last line is whole here) is that
 * input again, under any name: grown by lines at its end, or copied, its lines already stored are not stored
 * again (a nightly export appended to stored every line again each run). One that continues an earlier state
 * but not the latest (its tail regenerated) is a new input, so none of its lines is skipped. New inputs are named
 * `file:NAME#HASH:BYTES`. `known`: what runs of file inputs read (a store's older topics, bytes -1, match whole).
 */
export function fileIdentity(path: string, known: readonly FileIdentity[], fd?: number): FileIdentity {
  // Given the descriptor the run then reads through, the identity is of exactly the bytes it reads: a file
  // renamed over between two opens was read under the other file's identity, and lines appended while it was
  // hashed went into a hash recorded for the size before them, so no later run could match it and every line
  // was stored again.
  const own = fd === undefined;
  const handle = fd ?? openSync(path, 'r');
  const size = fstatSync(handle).size;
  // Each input's latest content: the only one a run may continue.
  const latest = new Map<string, FileIdentity>();
  for (const k of known) if (k.bytes > (latest.get(k.topic)?.bytes ?? -2)) latest.set(k.topic, k);
  const wanted = new Map<number, FileIdentity[]>();
  for (const k of latest.values()) if (k.bytes > 0 && k.bytes <= size) wanted.set(k.bytes, [...(wanted.get(k.bytes) ?? []), k]);
  const cuts = [...wanted.keys()].sort((a, b) => a - b);
  const hash = createHash('sha256');
  /** Prefix hashes at the cuts whose last line is whole in this file. */
  const prefixes = new Map<number, string>();
  /** A cut whose byte before is not a newline: whole only if this file's next byte is one. */
  let open: { at: number; sha: string } | null = null;
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    let at = 0;
    let c = 0;
    // Exactly `size` bytes, from the start (positioned reads: the descriptor's own position is left at 0).
    const more = () => (at < size ? readSync(handle, buf, 0, Math.min(buf.length, size - at), at) : 0);
    for (let n = more(); n > 0; n = more()) {
      if (open) {
        if (buf[0] === 0x0a) prefixes.set(open.at, open.sha);
        open = null;
      }
      let from = 0;
      while (c < cuts.length && cuts[c]! <= at + n) {
        const cut = cuts[c++]! - at;
        hash.update(buf.subarray(from, cut));
        from = cut;
        const sha = hash.copy().digest('hex').slice(0, 16);
        if (buf[cut - 1] === 0x0a || at + cut === size) prefixes.set(at + cut, sha);
        else if (cut < n) {
          if (buf[cut] === 0x0a) prefixes.set(at + cut, sha);
        } else open = { at: at + cut, sha };
      }
      hash.update(buf.subarray(from, n));
      at += n;
    }
  } finally {
    if (own) closeSync(handle);
  }
  const whole = hash.digest('hex').slice(0, 16);
  // The longest content continued: the input this file is the latest state of.
  for (let c = cuts.length - 1; c >= 0; c--) {
    const n = cuts[c]!;
    const same = wanted.get(n)!.find((k) => k.sha === prefixes.get(n));
    if (same) return { topic: same.topic, bytes: size, sha: whole };
  }
  // A store's older topics, `file:NAME#HASH`: the same file, whole.
  const legacy = `file:${basename(path)}#${whole}`;
  if (known.some((k) => k.topic === legacy)) return { topic: legacy, bytes: size, sha: whole };
  return { topic: `${legacy}:${size}`, bytes: size, sha: whole };
}

/**
 * What a file topic's name says of the content it was first run with (`file:NAME#HASH:BYTES`; a store's older
 * `file:NAME#HASH`, the whole file's hash and no size: bytes -1); null for a topic of another form.
 */
export function identityOfTopic(topic: string): FileIdentity | null {
  const m = /^file:.*#([0-9a-f]{16})(?::(\d+))?$/.exec(topic);
  return m ? { topic, bytes: m[2] === undefined ? -1 : Number(m[2]), sha: m[1]! } : null;
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
}

/**
 * Byte-level line splitting: invalid UTF-8 must reach the decoder as bytes, not be replaced here. The pieces
 * of a line that spans reads are joined once, when it ends (joining at every read made a long line quadratic:
 * 49 s for one 48 MB line). A line longer than `maxLineBytes` keeps only its first maxLineBytes + 1 bytes,
 * enough for the decoder to refuse it as oversize, however long it is.
 */
export async function* splitLines(stream: Readable, maxLineBytes = Number.POSITIVE_INFINITY): AsyncGenerator<Buffer> {
  for await (const group of splitLineGroups(stream, maxLineBytes)) yield* group;
}

/** splitLines' lines, as many at a time as each read of the stream completes (an empty group when it completes none). */
export async function* splitLineGroups(stream: Readable, maxLineBytes = Number.POSITIVE_INFINITY): AsyncGenerator<Buffer[]> {
  let parts: Buffer[] = [];
  let kept = 0;
  const keep = (piece: Buffer) => {
    const room = maxLineBytes + 1 - kept;
    if (room <= 0) return;
    const p = piece.length > room ? piece.subarray(0, room) : piece;
    parts.push(Buffer.from(p));
    kept += p.length;
  };
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    const lines: Buffer[] = [];
    let start = 0;
    for (let i = buf.indexOf(0x0a, start); i !== -1; i = buf.indexOf(0x0a, start)) {
      if (parts.length === 0) {
        const line = buf.subarray(start, i);
        lines.push(line.length > maxLineBytes + 1 ? line.subarray(0, maxLineBytes + 1) : line);
      } else {
        keep(buf.subarray(start, i));
        lines.push(Buffer.concat(parts, kept));
        parts = [];
        kept = 0;
      }
      start = i + 1;
    }
    if (start < buf.length) keep(buf.subarray(start));
    yield lines;
  }
  if (parts.length) yield [Buffer.concat(parts, kept)];
}
