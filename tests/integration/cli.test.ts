import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, createWriteStream, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recurAsync, recurP } from '../helpers/cli.js';
import { goodEvent, tempDir, waitFor } from '../helpers/env.js';

const SAMPLE = new URL('../../examples/sample-events.ndjson', import.meta.url);

describe('recur CLI (real process, embedded chDB)', () => {
  it('prints help and exits 0; unknown commands and bad flags exit 2', async () => {
    const help = await recurP(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage: recur <command>/);
    expect((await recurP(['frobnicate'])).code).toBe(2);
    expect((await recurP(['run', '--no-such-flag'])).code).toBe(2);
  });

  it('says in one line that a ClickHouse server cannot be reached, without its password', async () => {
    const r = await recurP(['clusters', '--clickhouse-url', 'http://recur:s3cret-pw@127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^recur: store: cannot open ClickHouse at http:\/\/127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1\n$/);
    expect(r.stderr).not.toContain('s3cret-pw');
  });

  it('names an input file it cannot open, without a stack trace', async () => {
    const dir = tempDir();
    const missing = join(dir, 'nope.ndjson');
    const r = await recurP(['run', '--input', missing, '--data-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`recur: cannot open ${missing}: no such file or directory`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // And so do the commands that read files of other kinds.
    const csv = join(dir, 'nope.csv');
    for (const args of [['detect', '--input', csv, '--output', join(dir, 'out.csv')], ['eval', 'clustering', '--input', csv, '--text-column', 'text', '--label-column', 'label']]) {
      const o = await recurP(args);
      expect([o.code, o.stderr.trim()], args[0]).toEqual([1, `recur: cannot open ${csv}: no such file or directory`]);
    }
  });

  it('exits 2 naming the key when the config is bad', async () => {
    const dir = tempDir();
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'ingest:\n  maxBatchRows: -1\n');
    const r = await recurP(['migrate', '--config', file, '--data-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ingest\.maxBatchRows/);
    const env = await recurP(['migrate', '--data-dir', dir], { env: { RECUR_CLICKHOUSE_URL: 'nope' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/clickhouse\.url/);
  });

  it('runs a file through the pipeline once, and a second run of the same file stores nothing new', async () => {
    const dir = tempDir();
    const expected = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const first = await recurP(['run', '--input', SAMPLE.pathname, '--data-dir', dir, '--json', '--log-level', 'warn']);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a.events_stored + a.events_dead_lettered).toBe(expected.length);
    expect(a.events_dead_lettered).toBe(3);
    const second = await recurP(['run', '--input', SAMPLE.pathname, '--data-dir', dir, '--json', '--log-level', 'warn']);
    expect(second.code, second.stderr).toBe(0);
    const clusters = await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000']);
    expect(clusters.code, clusters.stderr).toBe(0);
    const rows = JSON.parse(clusters.stdout) as { contacts: number }[];
    // Counts are exactly the valid events: the re-run was absorbed, not recounted.
    expect(rows.reduce((s, r) => s + r.contacts, 0)).toBe(a.events_stored);
  });

  it('two cluster pipelines on one store give ids of their own: no id counts the other pipeline\'s problems', async () => {
    const dir = tempDir();
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const a = join(tempDir(), 'a.ndjson');
    const b = join(tempDir(), 'b.ndjson');
    writeFileSync(a, `${lines.slice(0, 100).join('\n')}\n`);
    writeFileSync(b, `${lines.slice(100, 200).join('\n')}\n`);
    const run = async (input: string, env: Record<string, string> = {}) => {
      const r = await recurP(['run', '--input', input, '--data-dir', dir, '--json', '--log-level', 'warn'], { env });
      expect(r.code, r.stderr).toBe(0);
      // Nothing to warn of: the second pipeline's ids carry its name.
      expect(r.stderr).not.toMatch(/other cluster pipelines/);
      return JSON.parse(r.stdout) as { events_stored: number };
    };
    const first = await run(a);
    // It numbered its clusters from c_0 again, and the first pipeline's c_0 counted both problems under one label, in silence.
    const second = await run(b, { RECUR_CLUSTER_PIPELINE: 'second' });
    await run(a);
    const rows = JSON.parse((await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])).stdout) as { cluster_id: string; contacts: number }[];
    const contacts = (re: RegExp) => rows.filter((r) => re.test(r.cluster_id)).reduce((n, r) => n + r.contacts, 0);
    expect([contacts(/^c_\d+$/), contacts(/^c_second:\d+$/)]).toEqual([first.events_stored, second.events_stored]);
    expect(rows.every((r) => /^c_(second:)?\d+$/.test(r.cluster_id))).toBe(true);
  });

  it('a file run again after lines were added at its end stores only those, and a copy under another name nothing', async () => {
    const dir = tempDir();
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const file = join(tempDir(), 'export.ndjson');
    writeFileSync(file, `${lines.slice(0, 300).join('\n')}\n`);
    const taken = async (input: string) => {
      const r = await recurP(['run', '--input', input, '--data-dir', dir, '--json', '--log-level', 'warn']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { events_stored: number; events_dead_lettered: number };
    };
    const first = await taken(file);
    expect(first.events_stored + first.events_dead_lettered).toBe(300);
    // The nightly export grew: before, all 320 were stored again.
    appendFileSync(file, `${lines.slice(300, 320).join('\n')}\n`);
    const grown = await taken(file);
    expect(grown.events_stored + grown.events_dead_lettered).toBe(20);
    const copy = join(tempDir(), 'renamed.ndjson');
    copyFileSync(file, copy);
    expect(await taken(copy)).toMatchObject({ events_stored: 0, events_dead_lettered: 0 });
    const contacts = JSON.parse((await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])).stdout) as { contacts: number }[];
    expect(contacts.reduce((n, r) => n + r.contacts, 0)).toBe(first.events_stored + grown.events_stored);
    // The same first 300 lines with another tail than the one run last (regenerated): a new input, every line
    // stored (its first 300 again), none of its tail skipped.
    const regenerated = join(tempDir(), 'export.ndjson');
    writeFileSync(regenerated, `${lines.slice(0, 300).join('\n')}\n${lines.slice(400, 405).join('\n')}\n`);
    const other = await taken(regenerated);
    expect(other.events_stored + other.events_dead_lettered).toBe(305);
  });

  it('checkpoints a stream that went quiet by time: killed after, its clusters keep their labels', async () => {
    const dir = tempDir();
    const fifo = join(tempDir(), 'events.pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A trickle never reaches the 20 chunks of ingest.snapshotEveryBatches: only the time rule checkpoints it.
    const run = recurAsync(['run', '--input', fifo, '--data-dir', dir, '--log-level', 'debug'], { RECUR_INGEST_SNAPSHOT_MAX_INTERVAL_MS: '1000', RECUR_INGEST_SNAPSHOT_MIN_INTERVAL_MS: '0' });
    const writer = createWriteStream(fifo);
    writer.write(Array.from({ length: 20 }, (_, i) => `${JSON.stringify(goodEvent(i))}\n`).join(''));
    try {
      await waitFor('a checkpoint of the quiet stream', async () => /model snapshot saved/.test(run.output().stderr));
    } finally {
      run.child.kill('SIGKILL');
      await run.done;
      writer.destroy();
    }
    const out = await recurP(['clusters', '--json', '--since', 'all', '--data-dir', dir]);
    expect(out.code, out.stderr).toBe(0);
    const clusters = JSON.parse(out.stdout) as { label: string; contacts: number }[];
    expect(clusters.reduce((n, c) => n + c.contacts, 0)).toBe(20);
    expect(clusters.filter((c) => c.label === '')).toEqual([]);
  });

  it('reads a named pipe given as --input (as <(zcat f.gz) gives), not an empty second read of it', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'events.pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const lines = [goodEvent(11), goodEvent(12), goodEvent(13)].map((e) => JSON.stringify(e));
    const run = recurAsync(['run', '--input', fifo, '--data-dir', dir, '--json', '--log-level', 'warn']);
    // Opening the pipe for writing waits for the reader.
    await writeFile(fifo, `${lines.join('\n')}\nnot json\n`);
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ events_stored: 3, events_dead_lettered: 1 });
  });

  it('detect scores a series in order, and refuses what it would otherwise score wrongly, naming the row', async () => {
    const dir = tempDir();
    const series = (lines: string[]) => {
      const f = join(dir, `s${Math.random().toString(36).slice(2)}.csv`);
      writeFileSync(f, `timestamp,value\n${lines.join('\n')}\n`);
      return f;
    };
    const hours = Array.from({ length: 48 }, (_, h) => `2026-11-0${1 + Math.floor(h / 24)} ${String(h % 24).padStart(2, '0')}:00:00,${h === 40 ? 60 : 5 + (h % 3)}`);
    const ok = await recurP(['detect', '--input', series(hours)]);
    expect(ok.code, ok.stderr).toBe(0);
    const out = ok.stdout.trim().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score');
    expect(out).toHaveLength(49);
    const scores = out.slice(1).map((l) => Number(l.split(',')[2]));
    expect(scores.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(scores.indexOf(Math.max(...scores))).toBe(40);
    // A blank value (Number('') is 0), rows out of time order, a repeated timestamp: refused, by data row.
    const blank = await recurP(['detect', '--input', series(['2026-11-01 00:00:00,5', '', '2026-11-01 01:00:00,'])]);
    expect([blank.code, blank.stderr]).toEqual([2, expect.stringMatching(/data row 2: value "" is not a number/)]);
    const back = await recurP(['detect', '--input', series(['2026-11-01 01:00:00,5', '2026-11-01 00:00:00,5'])]);
    expect([back.code, back.stderr]).toEqual([2, expect.stringMatching(/data row 2: timestamp 2026-11-01 00:00:00 is not after the row before it/)]);
    const twice = await recurP(['detect', '--input', series(['2026-11-01 00:00:00,5', '2026-11-01 00:00:00,6'])]);
    expect(twice.code).toBe(2);
  });

  it('detect takes a burst the series keeps showing for its normal, and --pipeline reports it as recur run would', async () => {
    const dir = tempDir();
    const f = join(dir, 'bursts.csv');
    // Five-minute counts of 8-12 with a one-bucket burst of 150 every 700 buckets (~2.4 days), 12 days.
    const t0 = Date.UTC(2026, 10, 2);
    const lines = Array.from({ length: 288 * 12 }, (_, i) => `${new Date(t0 + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${i % 700 === 350 ? 150 : 8 + ((i * 7919) % 5)}`);
    writeFileSync(f, `timestamp,value\n${lines.join('\n')}\n`);
    const scoresOf = async (args: string[]): Promise<number[]> => {
      const r = await recurP(['detect', '--input', f, ...args]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
    };
    const series = await scoresOf([]);
    const pipeline = await scoresOf(['--pipeline']);
    const bursts = [350, 1050, 1750, 2450, 3150];
    // The first burst is news either way.
    expect(series[350]!).toBeGreaterThan(0.9);
    expect(pipeline[350]!).toBeGreaterThan(0.9);
    // From the second on, the series' own history says it recurs: no longer near the top of the scale.
    for (const i of bursts.slice(1)) expect(series[i]!).toBeLessThan(0.6);
    // The pipeline's settings report a problem that keeps coming back.
    for (const i of bursts.slice(1)) expect(pipeline[i]!).toBeGreaterThan(0.85);
    expect((await recurP(['detect', '--help'])).stdout).toContain('--pipeline');
    // --pipeline takes the operator's trends settings from the configuration: here the cap turned back on.
    const cfg = join(dir, 'recur.json');
    writeFileSync(cfg, JSON.stringify({ trends: { detector: { seenTailFactor: 0.1 } } }));
    const configured = await scoresOf(['--pipeline', '--config', cfg]);
    for (const i of bursts.slice(1)) expect(configured[i]!).toBeLessThan(0.6);
    // Without --pipeline the configuration is not read, and a --config would be silently ignored: refused.
    const ignored = await recurP(['detect', '--input', f, '--config', cfg]);
    expect([ignored.code, ignored.stderr]).toEqual([2, expect.stringMatching(/--config applies to detect only with --pipeline/)]);
  });

  it('reads NDJSON from stdin', async () => {
    const dir = tempDir();
    const lines = [goodEvent(1), goodEvent(2), goodEvent(3)].map((e) => JSON.stringify(e));
    const r = await recurP(['run', '--input', '-', '--data-dir', dir, '--json', '--log-level', 'warn'], { input: `${lines.join('\n')}\nnot json\n` });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ events_stored: 3, events_dead_lettered: 1 });
  });

  it('clusters and cost price a cluster alike: contacts without a cost of their own at their channel price', async () => {
    const dir = tempDir();
    // No cost or handle time on these events: only the cost model's channel prices can price them.
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify(goodEvent(i)));
    expect((await recurP(['run', '--input', '-', '--data-dir', dir, '--log-level', 'warn'], { input: `${lines.join('\n')}\n` })).code).toBe(0);
    const clusters = await recurP(['clusters', '--data-dir', dir, '--json', '--since', 'all']);
    const costs = await recurP(['cost', '--by', 'cluster', '--all', '--data-dir', dir, '--json', '--since', 'all']);
    expect(clusters.code, clusters.stderr).toBe(0);
    expect(costs.code, costs.stderr).toBe(0);
    const listed = (JSON.parse(clusters.stdout) as { cluster_id: string; cost: number }[]).map((r) => [r.cluster_id, r.cost]).sort();
    const charged = (JSON.parse(costs.stdout) as { cluster_id: string; cost: number }[]).map((r) => [r.cluster_id, r.cost]).sort();
    expect(listed.length).toBeGreaterThan(1);
    expect(listed.every(([, cost]) => (cost as number) > 0)).toBe(true);
    expect(listed).toEqual(charged);
    // Per owner, a case counts once: each of these 20 cases has its two messages in two clusters, and an owner
    // with two of them counted such a case twice (the sum of its clusters' distinct cases).
    const owners = await recurP(['cost', '--all', '--data-dir', dir, '--json', '--since', 'all']);
    const perOwner = JSON.parse(owners.stdout) as { owner: string; cases: number; contacts: number }[];
    const summed = new Map<string, number>();
    for (const r of JSON.parse(costs.stdout) as { owner: string; cases: number }[]) summed.set(r.owner, (summed.get(r.owner) ?? 0) + r.cases);
    expect(perOwner.reduce((n, o) => n + o.contacts, 0)).toBe(40);
    for (const o of perOwner) expect(o.cases, o.owner).toBeLessThanOrEqual(summed.get(o.owner)!);
    expect(perOwner.filter((o) => o.cases < summed.get(o.owner)!).length).toBeGreaterThan(0);
    // The same answers in a zone whose hours start at half past UTC (chDB takes the process's TZ), and for a
    // window reaching back before 1970: both came out empty.
    for (const [env, since] of [[{ TZ: 'Asia/Kolkata' }, 'all'], [{}, '36500d'], [{ TZ: 'America/St_Johns' }, '36500d']] as const) {
      const c = await recurP(['clusters', '--data-dir', dir, '--json', '--since', since], { env });
      const k = await recurP(['cost', '--by', 'cluster', '--all', '--data-dir', dir, '--json', '--since', since], { env });
      expect(c.code, c.stderr).toBe(0);
      expect((JSON.parse(c.stdout) as { cluster_id: string; cost: number }[]).map((r) => [r.cluster_id, r.cost]).sort(), `${JSON.stringify(env)} ${since}`).toEqual(listed);
      expect((JSON.parse(k.stdout) as { cluster_id: string; cost: number }[]).map((r) => [r.cluster_id, r.cost]).sort(), `${JSON.stringify(env)} ${since}`).toEqual(charged);
    }
  });

  it('demo runs the shipped sample on embedded defaults and reports the clusters it found', async () => {
    const dir = tempDir();
    // A server configured for production (here one that is gone) is not where a demo writes.
    const r = await recurP(['demo', '--data-dir', dir, '--json'], { env: { RECUR_CLICKHOUSE_URL: 'http://127.0.0.1:9' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/demo runs on embedded chDB/);
    const report = JSON.parse(r.stdout);
    expect(report.events).toBeGreaterThan(2000);
    expect(report.dead_letters.reduce((s: number, d: { n: number }) => s + d.n, 0)).toBe(3);
    expect(report.masked).toBeGreaterThan(100);
    expect(report.top_clusters.length).toBe(10);
    // Every episode reads as a problem, merged-away clusters included (labelled by the cluster they joined).
    expect(report.episodes.length).toBeGreaterThan(0);
    expect(report.episodes.filter((e: { label: string }) => e.label === '')).toEqual([]);
    // The sample's event times lie weeks back: the default period is empty, and says where the episodes are.
    const t = await recurP(['trends', '--data-dir', dir]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(new RegExp(`no episode reaches into the last 7d; ${report.episodes.length} older, the newest ended 2026-11-\\d\\d`));
    const c = await recurP(['clusters', '--since', '7d', '--data-dir', dir]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toMatch(/no contact in the last 7d; the newest event is from 2026-11-\d\dT/);
    // A cluster merged away keeps its history under its own id, and the list says where it went.
    const all = await recurP(['clusters', '--since', 'all', '--limit', '1000', '--data-dir', dir, '--json']);
    const merged = (JSON.parse(all.stdout) as { cluster_id: string; state: string; merged_into: string }[]).find((x) => x.state === 'merged');
    expect(merged?.merged_into).toMatch(/^c_\d+$/);
    expect((await recurP(['clusters', '--since', 'all', '--limit', '1000', '--data-dir', dir])).stdout).toMatch(new RegExp(`^${merged!.cluster_id} .* merged into ${merged!.merged_into} `, 'm'));
  });

  it('a read command on a --data-dir with no store says so (exit 2), not an empty answer from a store it made', async () => {
    const missing = join(tempDir(), 'mistyped');
    const r = await recurP(['clusters', '--data-dir', missing]);
    expect([r.code, r.stderr.trim()]).toEqual([2, `recur: no store at ${missing}: nothing has been stored there (recur run or recur demo makes one; --data-dir, clickhouse.dataDir)`]);
    expect((await recurP(['status', '--data-dir', missing])).code).toBe(2);
    expect(existsSync(missing)).toBe(false);
    // A directory that is there but holds no store (notes, a parent directory) is no store either.
    const notes = tempDir();
    writeFileSync(join(notes, 'notes.txt'), 'mine');
    expect((await recurP(['clusters', '--data-dir', notes])).code).toBe(2);
    expect(readdirSync(notes)).toEqual(['notes.txt']);
  });

  it('demo refuses a --data-dir that is not its own instead of emptying it', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const r = await recurP(['demo', '--data-dir', dir]);
    expect([r.code, r.stderr.trim()]).toEqual([2, expect.stringMatching(/is not a demo store/)]);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('show and the dashboard API give a cluster its status and owner', async () => {
    const dir = tempDir();
    const demo = await recurP(['demo', '--data-dir', dir, '--json']);
    expect(demo.code, demo.stderr).toBe(0);
    const id = JSON.parse(demo.stdout).top_clusters[0].cluster_id as string;
    expect((await recurP(['status', 'set', id, 'fix_pending', '--data-dir', dir])).code).toBe(0);
    expect((await recurP(['owner', 'set', id, 'billing', '--data-dir', dir])).code).toBe(0);
    // recur status <cluster> answers as it does with a pipeline running: one document, open when never set.
    expect(JSON.parse((await recurP(['status', id, '--json', '--data-dir', dir])).stdout)).toMatchObject({ pipeline: 'not running', clusters: [{ cluster_id: id, status: 'fix_pending' }] });
    const other = (JSON.parse(demo.stdout).top_clusters as { cluster_id: string }[])[1]!.cluster_id;
    expect(JSON.parse((await recurP(['status', other, '--json', '--data-dir', dir])).stdout)).toEqual({ pipeline: 'not running', clusters: [{ cluster_id: other, status: 'open', changed_at: null, fixed_at: null }] });
    expect((await recurP(['status', 'c_999999', '--data-dir', dir])).code).toBe(1);
    // A fix marked available, then confirmed: its regression watch runs from the first, and status says so.
    expect((await recurP(['status', 'set', other, 'fix_available', '--data-dir', dir])).code).toBe(0);
    const available = JSON.parse((await recurP(['status', other, '--json', '--data-dir', dir])).stdout).clusters[0];
    expect(available).toMatchObject({ status: 'fix_available', fixed_at: available.changed_at });
    expect((await recurP(['status', 'set', other, 'resolved', '--data-dir', dir])).code).toBe(0);
    const resolved = JSON.parse((await recurP(['status', other, '--json', '--data-dir', dir])).stdout).clusters[0];
    expect(resolved).toMatchObject({ status: 'resolved', fixed_at: available.changed_at });
    expect(resolved.changed_at > available.changed_at).toBe(true);
    expect((await recurP(['status', other, '--data-dir', dir])).stdout.trim()).toBe(`${other}  resolved  ${resolved.changed_at}  (fixed since ${available.changed_at})`);
    const show = await recurP(['show', id, '--data-dir', dir]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^status: {3}fix_pending since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d · owner billing \(pinned\)$/m);

    const { recurAsync } = await import('../helpers/cli.js');
    // Port 0: the system picks a free one, and recur says which.
    const srv = recurAsync(['serve', '--data-dir', dir, '--port', '0']);
    try {
      const url = await waitFor('server listening', async () => /serving (http:\/\/\S+)/.exec(srv.output().stderr)?.[1]);
      // A demo pointed at the store the server holds is refused by the store's lock: it used to empty the
      // directory under the server (500s after).
      const demoAgain = await recurP(['demo', '--data-dir', dir]);
      expect([demoAgain.code, demoAgain.stderr]).toEqual([1, expect.stringMatching(/in use by another recur process/)]);
      // The read commands find it on the port it took (it says so beside the store), and status among them.
      const listed = await recurP(['clusters', '--json', '--data-dir', dir]);
      expect(listed.code, listed.stderr).toBe(0);
      expect((JSON.parse(listed.stdout) as { cluster_id: string }[]).map((c) => c.cluster_id)).toContain(id);
      // Busy for a moment (stopped here; a backfill's GC on two cores): the commands wait for it. Given 1.5 s, they
      // opened the store themselves and failed on its lock, telling the user to stop the process.
      const busy = async (args: string[]) => {
        srv.child.kill('SIGSTOP');
        const resume = setTimeout(() => srv.child.kill('SIGCONT'), 2500);
        try {
          return await recurP(args);
        } finally {
          clearTimeout(resume);
          srv.child.kill('SIGCONT');
        }
      };
      expect(await busy(['clusters', '--json', '--data-dir', dir])).toMatchObject({ code: 0, stdout: listed.stdout });
      expect(await busy(['owner', 'set', id, 'billing', '--data-dir', dir])).toMatchObject({ code: 0 });
      // Silent for longer: status says so within its 15 s, exit 1 (it waited 60 s, then failed on the store).
      srv.child.kill('SIGSTOP');
      try {
        const silent = await recurP(['status', '--data-dir', dir]);
        expect([silent.code, silent.stdout]).toEqual([1, expect.stringMatching(/^pipeline: not answering \(pid \d+, .* gave no answer within 15 s\)/)]);
      } finally {
        srv.child.kill('SIGCONT');
      }
      const st = await recurP(['status', id, '--json', '--data-dir', dir]);
      expect(st.code, st.stderr).toBe(0);
      expect(JSON.parse(st.stdout)).toMatchObject({ pipeline: 'not running', clusters: [{ cluster_id: id, status: 'fix_pending' }] });
      const all = JSON.parse((await recurP(['status', '--json', '--data-dir', dir])).stdout);
      expect(all).toEqual({ pipeline: 'not running', clusters: expect.arrayContaining([expect.objectContaining({ cluster_id: id, status: 'fix_pending' }), { ...resolved, fixed_at: available.changed_at }]) });
      expect(all.clusters).toHaveLength(2);
      // An empty window says where the data ends, through the server as from the store.
      const t = await recurP(['trends', '--data-dir', dir]);
      expect([t.code, t.stderr]).toEqual([0, expect.stringMatching(/no episode reaches into the last 7d; \d+ older, the newest ended 2026-11-\d\d/)]);
      expect((await recurP(['clusters', '--since', '7d', '--data-dir', dir])).stderr).toMatch(/no contact in the last 7d; the newest event is from 2026-11-\d\dT/);
      // Its port taken: said plainly, exit 2, no stack trace.
      const port = new URL(url).port;
      const other = tempDir();
      // A directory without a store is refused before the port is tried, and no store is made there.
      expect(await recurP(['serve', '--data-dir', other, '--port', port])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^recur: no store at .*: nothing has been stored there/) });
      expect(readdirSync(other)).toEqual([]);
      expect((await recurP(['run', '--input', '-', '--data-dir', other], { input: `${JSON.stringify(goodEvent(0))}\n` })).code).toBe(0);
      const taken = await recurP(['serve', '--data-dir', other, '--port', port]);
      expect([taken.code, taken.stderr.trim()]).toEqual([2, `recur: cannot serve on 127.0.0.1:${port}: the port is in use (serve.port or RECUR_SERVE_PORT, and recur serve's --port; 0 picks a free one)`]);
      // One bound on a listing, through the API as from the store (the API cut a larger --limit to 500 silently).
      expect((await fetch(`${url}/api/clusters?limit=10001`)).status).toBe(400);
      expect(await recurP(['clusters', '--limit', '10001', '--data-dir', dir])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--limit takes a whole number from 1 to 10000/) });
      expect((await recurP(['clusters', '--limit', '10000', '--json', '--data-dir', dir])).code).toBe(0);
      // A limit asked of the episodes, the customers to notify and the charge-back is kept (they came whole); without one they come whole.
      const json = async (path: string) => (await (await fetch(`${url}/api/${path}`)).json()) as { episode_id?: string; customer_id?: string; cluster_id?: string }[];
      const [episodes, affected, cost] = await Promise.all([json('trends'), json(`affected/${id}`), json('cost')]);
      expect([episodes.length, affected.length, cost.length].every((n) => n > 3)).toBe(true);
      expect(await json('trends?limit=3')).toEqual(episodes.slice(0, 3));
      expect(await json(`affected/${id}?limit=2`)).toEqual(affected.slice(0, 2));
      expect(await json('cost?limit=2')).toEqual(cost.slice(0, 2));
      const d = (await (await fetch(`${url}/api/cluster/${id}`)).json()) as Record<string, unknown>;
      expect(d).toMatchObject({ cluster_id: id, status: 'fix_pending', owner: 'billing', owner_reason: 'pinned', state: 'live' });
      // It holds chDB in-process: /metrics gives its resident memory, which includes the engine's.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(100 * 1024 * 1024);
    } finally {
      srv.child.kill('SIGTERM');
      await srv.done;
    }
  });

  it('while a pipeline runs on the embedded store, status, clusters, show, affected, trends and cost answer through it (status of one cluster in one JSON document)', async () => {
    const dir = tempDir();
    const env = { RECUR_SERVE_PORT: String(20_000 + Math.floor(Math.random() * 20_000)) };
    // Another store, with no pipeline: its status must not be the one running on that port.
    const elsewhere = tempDir();
    expect((await recurP(['run', '--input', '-', '--data-dir', elsewhere], { input: `${JSON.stringify(goodEvent(0))}\n` })).code).toBe(0);
    writeFileSync(join(dir, 'serving.token'), 'left by a process that was killed\n', { mode: 0o644 });
    const run = recurAsync(['run', '--serve', '--input', '-', '--data-dir', dir, '--log-level', 'warn'], env, 'pipe');
    try {
      run.child.stdin!.write(Array.from({ length: 20 }, (_, i) => `${JSON.stringify(goodEvent(i))}\n`).join(''));
      const api = `http://127.0.0.1:${env.RECUR_SERVE_PORT}/api`;
      const id = await waitFor('a stored cluster', async () => ((await (await fetch(`${api}/clusters`)).json()) as { cluster_id: string }[])[0]?.cluster_id);
      const r = await recurP(['status', id, '--json', '--data-dir', dir], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ pipeline: 'running', clusters: [{ cluster_id: id, status: 'open', changed_at: null }] });
      const other = await recurP(['status', '--json', '--data-dir', elsewhere], { env });
      expect([other.code, JSON.parse(other.stdout)]).toEqual([0, { pipeline: 'not running', clusters: [] }]);
      const missing = await recurP(['status', 'c_999999', '--data-dir', dir], { env });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no cluster "c_999999"/);
      // The read commands answer through it too (they failed on the store's lock), with what the store holds.
      const json = async (args: string[]) => {
        const out = await recurP([...args, '--json', '--data-dir', dir], { env });
        expect(out.code, out.stderr).toBe(0);
        return JSON.parse(out.stdout) as unknown;
      };
      const clusters = (await json(['clusters', '--since', 'all'])) as { cluster_id: string; contacts: number }[];
      expect(clusters.reduce((n, c) => n + c.contacts, 0)).toBe(20);
      expect(await json(['show', id])).toMatchObject({ cluster_id: id, status: 'open' });
      expect(await json(['affected', id])).toEqual(expect.arrayContaining([expect.objectContaining({ customer_id: expect.stringMatching(/^cust-/) })]));
      expect(await json(['trends', '--since', 'all'])).toEqual(expect.any(Array));
      const charged = (await json(['cost', '--by', 'cluster', '--since', 'all'])) as { contacts: number; owner: string; label: string }[];
      expect(charged.reduce((n, c) => n + c.contacts, 0)).toBe(20);
      // Per owner, through the same process: its totals, each case once per owner.
      const owners = (await json(['cost', '--since', 'all'])) as { owner: string; clusters: number; cases: number; contacts: number }[];
      expect(owners.reduce((n, o) => n + o.contacts, 0)).toBe(20);
      expect(owners.reduce((n, o) => n + o.clusters, 0)).toBe(charged.length);
      for (const o of owners) expect(o.cases).toBeGreaterThan(0);
      // Before the model's first checkpoint (none in this short run) the live model describes the clusters:
      // labels, and owners routed by them ("charged twice … refund" is finance's), not the default owner for all.
      expect(clusters.every((c) => (c as { label?: string }).label !== '')).toBe(true);
      expect(((await json(['show', id])) as { label: string; top_terms: string[] }).top_terms.length).toBeGreaterThan(0);
      expect(charged.map((c) => c.owner)).toContain('finance');
      // And show routes it as cost does, by the live model's terms (it said the default owner).
      const fin = (charged as unknown as { cluster_id: string; owner: string }[]).find((c) => c.owner === 'finance')!;
      expect(await json(['show', fin.cluster_id])).toMatchObject({ owner: 'finance', owner_reason: 'rule' });
      const unknown = await recurP(['affected', 'c_999999', '--data-dir', dir], { env });
      expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'recur: no cluster "c_999999"']);

      // Owners mark a fix and pin a team while the pipeline runs: through it (the store's lock refused them),
      // and the pipeline's own store says so (where the regression watch reads the status from).
      const set = await recurP(['status', 'set', id, 'fix_available', '--note', 'shipped\nin 4.2\x1b[2J', '--data-dir', dir], { env });
      expect([set.code, set.stdout.trim()], set.stderr).toEqual([0, `${id}: fix_available`]);
      expect((await recurP(['owner', 'set', id, 'billing', '--data-dir', dir], { env })).code).toBe(0);
      expect(await json(['owner'])).toEqual([{ cluster_id: id, owner: 'billing' }]);
      // recur status gives the pipeline's health and the statuses set so far (it gave the health alone).
      expect(await json(['status'])).toMatchObject({ pipeline: 'running', sinks: expect.any(Array), clusters: [{ cluster_id: id, status: 'fix_available' }] });
      // The note is kept as one line of text: no line break or terminal escape reaches whoever reads it in show.
      expect(await (await fetch(`${api}/cluster/${id}`)).json()).toMatchObject({ status: 'fix_available', status_note: 'shipped in 4.2 [2J', owner: 'billing', owner_reason: 'pinned' });
      expect((await recurP(['owner', 'unset', id, '--data-dir', dir], { env })).code).toBe(0);
      expect(await json(['owner'])).toEqual([]);
      expect(await recurP(['status', 'set', 'c_999999', 'resolved', '--data-dir', dir], { env })).toMatchObject({ code: 1, stderr: expect.stringMatching(/no cluster "c_999999"/) });
      expect(await recurP(['owner', 'set', 'c_999999', 'billing', '--data-dir', dir], { env })).toMatchObject({ code: 1, stderr: expect.stringMatching(/no cluster "c_999999"/) });
      expect(await recurP(['status', 'set', id, 'resolved', '--note', 'x'.repeat(2001), '--data-dir', dir], { env })).toMatchObject({ code: 2, stderr: expect.stringMatching(/a note is at most 2000 characters/) });
      // Only with the token beside the store (mode 0600, though a stale file of another mode was there): not
      // another user, nor a page in a browser (a simple cross-site POST carries no token, and a custom header
      // needs a preflight this server never grants).
      expect(statSync(join(dir, 'serving.token')).mode & 0o777).toBe(0o600);
      const token = readFileSync(join(dir, 'serving.token'), 'utf8').trim();
      expect(readFileSync(join(dir, 'serving.json'), 'utf8')).not.toContain(token);
      const post = (headers: Record<string, string>, body = JSON.stringify({ status: 'resolved' })) => fetch(`${api}/status/${id}`, { method: 'POST', headers, body }).then((r) => r.status);
      expect(await post({ 'content-type': 'text/plain' })).toBe(401);
      expect(await post({ 'content-type': 'application/json', authorization: `Bearer ${token.slice(1)}x` })).toBe(401);
      expect(await post({ 'content-type': 'text/plain', authorization: `Bearer ${token}` })).toBe(415);
      expect(await post({ 'content-type': 'application/json', authorization: `Bearer ${token}` }, '{"status":"gone"}')).toBe(400);
      expect(await post({ 'content-type': 'application/json', authorization: `Bearer ${token}` }, 'x'.repeat(2_000_000))).toBe(413);
      // The longest note, in four-byte characters, is taken.
      expect(await post({ 'content-type': 'application/json', authorization: `Bearer ${token}` }, JSON.stringify({ status: 'fix_available', note: '😀'.repeat(2000) }))).toBe(200);
      // None of the refused writes changed it.
      expect(await (await fetch(`${api}/statuses`)).json()).toEqual([expect.objectContaining({ cluster_id: id, status: 'fix_available' })]);
    } finally {
      run.child.stdin!.end();
      run.child.kill('SIGTERM');
      await run.done;
    }
    // Stopped, it no longer announces itself, nor keeps its token.
    expect([existsSync(join(dir, 'serving.json')), existsSync(join(dir, 'serving.token'))]).toEqual([false, false]);
  });

  it('gives a clear error when another process holds the embedded store', async () => {
    const dir = tempDir();
    const { recurAsync } = await import('../helpers/cli.js');
    // The holder reads stdin, which stays open until we end it: it holds the store meanwhile.
    const holder = recurAsync(['run', '--input', '-', '--data-dir', dir, '--log-level', 'info'], {}, 'pipe');
    await waitFor('holder started', async () => /pipeline starting/.test(holder.output().stderr));
    const r = await recurP(['clusters', '--data-dir', dir]);
    holder.child.stdin!.end(`${JSON.stringify(goodEvent(7))}\n`);
    const h = await holder.done;
    expect(h.code, h.stderr).toBe(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/in use by another recur process/);
  });
});
