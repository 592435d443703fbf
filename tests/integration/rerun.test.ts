import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recurAsync, recurP } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

const SAMPLE = new URL('../../examples/sample-events.ndjson', import.meta.url).pathname;

function json(r: { code: number | null; stdout: string; stderr: string }) {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('recur rerun (real process, embedded chDB)', () => {
  it('re-clusters a range under a new version, keeps ids, records lineage, and counts stay exact; repeatable', async () => {
    const dir = tempDir();
    const valid = readFileSync(SAMPLE, 'utf8').trim().split('\n').length - 3;
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const before = json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number }[];
    expect(before.reduce((s, r) => s + r.contacts, 0)).toBe(valid);

    const first = json(await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn']));
    expect(first.events).toBe(valid);
    expect(first.model_version).toBe(2);
    expect(first.clusters_after).toBe(12);
    expect(first.kept).toBeGreaterThan(0);
    const after = json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number; top_terms: string[] }[];
    expect(after).toHaveLength(12);
    // Labelled as the live clusterer labels, in readable words with word pairs ("card declined"), not stems.
    expect(after.some((r) => r.top_terms.some((t) => t.includes(' ')))).toBe(true);
    expect(after.reduce((s, r) => s + r.contacts, 0)).toBe(valid); // rewritten, not added
    const beforeIds = new Set(before.map((r) => r.cluster_id));
    expect(after.filter((r) => beforeIds.has(r.cluster_id)).length).toBe(first.kept);

    // Cron runs the same range again: same clustering, ids carried over, counts unchanged.
    const second = json(await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn']));
    expect(second.model_version).toBe(3);
    expect(second.events_moved).toBe(0);
    expect(second.kept).toBe(12);
    const again = json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number }[];
    expect(new Map(again.map((r) => [r.cluster_id, r.contacts]))).toEqual(new Map(after.map((r) => [r.cluster_id, r.contacts])));
  });

  it('the live pipeline, started after a re-run, keeps its merges and retirements: no cluster it took out comes back', async () => {
    const dir = tempDir();
    const lines = readFileSync(SAMPLE, 'utf8').trim().split('\n');
    const valid = lines.length - 3;
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const r = json(await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn'])) as {
      lineage: { kind: string; from: string[]; to: string[] }[];
      kept_outside: string[];
    };
    const takenOut = new Set(r.lineage.flatMap((l) => (l.kind === 'retired' ? l.from : l.kind === 'merge' ? l.from.filter((id) => !l.to.includes(id)) : [])));
    expect(r.kept_outside).toEqual([]);
    expect(takenOut.size).toBeGreaterThan(10);
    // The same problems a month later (new events, ids and cases): the live model, restored from its checkpoint
    // from before the re-run, must place them as the re-run left the clusters.
    const later = join(dir, 'later.ndjson');
    writeFileSync(
      later,
      lines
        .map((l) => {
          try {
            const e = JSON.parse(l) as Record<string, unknown>;
            if (typeof e['occurred_at'] !== 'string') return l;
            const t = Date.parse(e['occurred_at']) + 30 * 86_400_000;
            return JSON.stringify({ ...e, event_id: `L-${String(e['event_id'])}`, case_id: `L-${String(e['case_id'])}`, occurred_at: new Date(t).toISOString() });
          } catch {
            return l;
          }
        })
        .join('\n') + '\n',
    );
    json(await recurP(['run', '--input', later, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const listed = json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number; state: string }[];
    expect(listed.reduce((s, c) => s + c.contacts, 0)).toBe(2 * valid);
    const back = listed.filter((c) => takenOut.has(c.cluster_id) && (c.state === 'live' || c.contacts > 0));
    expect(back.map((c) => c.cluster_id)).toEqual([]);
    // Most of the later events land in the clusters the re-run kept or made.
    const refit = new Set(listed.filter((c) => c.state === 'live').map((c) => c.cluster_id));
    const inRefit = listed.filter((c) => refit.has(c.cluster_id)).reduce((s, c) => s + c.contacts, 0);
    expect(inRefit).toBeGreaterThan(1.8 * valid);
  });

  it('clusters born after the checkpoint and merged by a re-run stay merged when the restarted pipeline relearns them', async () => {
    // Killed after storing its second batch of 400 lines, before any checkpoint: every cluster was born after it
    // (cluster_births).
    const dir = tempDir();
    const valid = readFileSync(SAMPLE, 'utf8').trim().split('\n').length - 3;
    const killed = await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--log-level', 'warn'], {
      env: { RECUR_TESTING_CRASH_AT: 'after_insert', RECUR_TESTING_CRASH_ON_BATCH: '2', RECUR_INGEST_MAX_BATCH_ROWS: '100' },
    });
    expect(killed.code).not.toBe(0);
    const r = json(await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn'])) as {
      lineage: { kind: string; from: string[]; to: string[] }[];
    };
    const takenOut = new Set(r.lineage.flatMap((l) => (l.kind === 'retired' ? l.from : l.kind === 'merge' ? l.from.filter((id) => !l.to.includes(id)) : [])));
    expect(takenOut.size).toBeGreaterThan(5);
    // The same file again: what is stored is skipped, the rest stored; the model relearns every event, and the
    // clusters it makes again under their recorded ids take the re-run's decisions.
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const listed = json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number; state: string }[];
    expect(listed.reduce((n, c) => n + c.contacts, 0)).toBe(valid);
    expect(listed.filter((c) => takenOut.has(c.cluster_id) && c.state === 'live').map((c) => c.cluster_id)).toEqual([]);
  });

  it('a re-run killed between its insert and its delete is repaired by running it again: nothing lost, ids kept', async () => {
    const dir = tempDir();
    const valid = readFileSync(SAMPLE, 'utf8').trim().split('\n').length - 3;
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const args = ['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn'];
    const first = json(await recurP(args));
    const contacts = async () => (json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; contacts: number }[]);
    const stored = (await contacts());
    // Killed after the new version's rows landed, before the older ones were deleted: both are there. It
    // clustered the range another way (8 clusters), under ids of its own.
    const killed = await recurP(args.map((a) => (a === '12' ? '8' : a)), { env: { RECUR_TESTING_CRASH_AT: 'rerun_before_delete' } });
    expect(killed.code).toBeNull();
    expect((await contacts()).reduce((s, r) => s + r.contacts, 0)).toBe(2 * valid);
    // Run again, as cron would: a version of its own, every event once, every cluster id kept.
    const again = json(await recurP(args));
    expect(again.model_version).toBe(first.model_version + 2);
    expect(again.events).toBe(valid);
    // Against the clusters stored before the killed attempt, not the ones it never recorded.
    expect(again.clusters_before).toBe(first.clusters_after);
    expect(again.kept).toBe(first.clusters_after);
    expect(new Map((await contacts()).map((r) => [r.cluster_id, r.contacts]))).toEqual(new Map(stored.map((r) => [r.cluster_id, r.contacts])));
    // A re-run of one day: a cluster it keeps is still described by all its history, not by that day alone.
    json(await recurP(['rerun', '--from', '2026-11-03', '--to', '2026-11-04', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn']));
    const all = (await contacts());
    const biggest = all.reduce((a, b) => (b.contacts > a.contacts ? b : a));
    const shown = json(await recurP(['show', biggest.cluster_id, '--data-dir', dir, '--json'])) as { size: number; first_seen: string; daily: { day: string }[] };
    expect(Number(shown.size)).toBe(biggest.contacts);
    expect(shown.first_seen.slice(0, 10)).toBe(shown.daily[0]!.day.slice(0, 10));
  });

  it('a re-run killed after its delete, before it recorded its clusters, keeps their ids when run again', async () => {
    const dir = tempDir();
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const args = ['rerun', '--from', '2026-11-02', '--to', '2026-11-16', '--k', '12', '--data-dir', dir, '--json', '--log-level', 'warn'];
    const first = json(await recurP(args));
    const killed = await recurP(args, { env: { RECUR_TESTING_CRASH_AT: 'rerun_after_delete' } });
    expect(killed.code).toBeNull();
    // Only the killed attempt's rows are left in the range, under a version whose clusters were never recorded.
    const again = json(await recurP(args));
    expect(again.events).toBe(first.events);
    // Before, the range had no current clusters for it: every id was given afresh (kept 0).
    expect(again.clusters_before).toBe(first.clusters_after);
    expect(again.kept).toBe(first.clusters_after);
    expect(again.events_moved).toBe(0);
  });

  it('a re-run of one day marks merged or retired only the clusters with no event outside that day', async () => {
    const dir = tempDir();
    json(await recurP(['run', '--input', SAMPLE, '--data-dir', dir, '--json', '--log-level', 'warn']));
    const stateOf = async () => new Map((json(await recurP(['clusters', '--data-dir', dir, '--json', '--limit', '1000'])) as { cluster_id: string; state: string }[]).map((c) => [c.cluster_id, c.state]));
    const before = (await stateOf());
    // Three clusters for one day's events: most of the day's clusters are merged or retired within it,
    // while nearly all of them have cases on other days.
    const r = json(await recurP(['rerun', '--from', '2026-11-03', '--to', '2026-11-04', '--k', '3', '--data-dir', dir, '--json', '--log-level', 'warn'])) as {
      lineage: { kind: string; from: string[]; to: string[] }[];
      kept_outside: string[];
    };
    const takenOut = new Set(r.lineage.flatMap((l) => (l.kind === 'retired' ? l.from : l.kind === 'merge' ? l.from.filter((id) => !l.to.includes(id)) : [])));
    expect(r.kept_outside.length).toBeGreaterThan(5);
    expect(r.kept_outside.every((id) => takenOut.has(id))).toBe(true);
    const state = (await stateOf());
    // Spawned without blocking the worker (a loop of synchronous spawns held its event loop past vitest's RPC timeout).
    const days = async (id: string) => (json(await recurAsync(['show', id, '--data-dir', dir, '--json']).done) as { daily: { day: string }[] }).daily.map((d) => d.day.slice(0, 10));
    // Those with cases on other days are as they were (live, most of them, as the live model still has them).
    expect(r.kept_outside.filter((id) => state.get(id) === 'live').length).toBeGreaterThan(5);
    for (const id of r.kept_outside) expect(state.get(id), id).toBe(before.get(id));
    for (const id of r.kept_outside.slice(0, 8)) expect((await days(id)).some((d) => d !== '2026-11-03'), id).toBe(true);
    // The rest of those the re-fit took out are marked, and had cases on that day only.
    for (const id of [...takenOut].filter((x) => !r.kept_outside.includes(x))) {
      expect(state.get(id) ?? 'not listed', id).not.toBe('live');
    }
  });

  it('refuses ranges that do not fall on whole hours', async () => {
    const r = await recurP(['rerun', '--from', '2026-11-02T10:30:00Z', '--to', '2026-11-03', '--data-dir', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/whole hour/);
  });

  it('fails, for cron to see, on a data directory that holds no store or an unknown embedder, and makes no store', async () => {
    // It opened an empty store at a mistyped path and said "no stored events in that range", exit 0.
    const typo = join(tempDir(), 'typo');
    const r = await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-03', '--data-dir', typo]);
    expect([r.code, r.stderr.trim()]).toEqual([2, expect.stringMatching(/^recur: no store at .*typo: nothing has been stored there/)]);
    expect(existsSync(typo)).toBe(false);
    const e = await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-03', '--embedder', 'foo', '--data-dir', typo]);
    expect([e.code, e.stderr.trim()]).toEqual([2, 'recur: --embedder takes none, bge-small or minilm, got "foo"']);
    expect((await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-03', '--seed', '0x10', '--data-dir', typo])).stderr).toMatch(/--seed takes a whole number from 0 to 4294967295/);
    for (const k of ['0x10', '1e1', '']) expect((await recurP(['rerun', '--from', '2026-11-02', '--to', '2026-11-03', '--k', k, '--data-dir', typo])).stderr, k).toMatch(/--k takes a whole number or auto/);
  });
});
