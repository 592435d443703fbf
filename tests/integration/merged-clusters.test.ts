import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assignment, ClusterEvent, LineageEvent } from '../../src/cluster/online.js';
import type { ClusterSummary } from '../../src/cluster/labels.js';
import { ClusterAssigner, type LiveModel } from '../../src/pipeline/assigner.js';
import { clusterState, loadLatestSnapshot, openStore, migrate, type Store } from '../../src/store/index.js';
import { select } from '../../src/store/select.js';
import { silentLog, tempDir } from '../helpers/env.js';

// A cluster that leaves the live model (merged into a near-duplicate, or retired) keeps reading as the
// problem it was: alerts and `recur show` name it, and a backfill often merges a cluster between its
// alert and the alert's routing or before its first checkpoint. Real chDB; the clusterer is scripted so
// the merges happen exactly where the test says.
const DAY = Date.UTC(2026, 10, 2);

/** A live model whose clusters and merges the test sets. */
class ScriptedModel implements LiveModel {
  events = 0;
  readonly live = new Map<string, ClusterSummary>();
  next: { clusterId: string; lineage?: LineageEvent[] } = { clusterId: '' };
  get liveClusters(): number {
    return this.live.size;
  }
  add(id: string, terms: string[]): void {
    this.live.set(id, { id, size: 1, topTerms: terms, label: terms.join(' / '), examples: [`example of ${id}`], firstSeen: DAY, lastSeen: DAY });
  }
  assign(_ev: ClusterEvent): Assignment {
    this.events++;
    for (const l of this.next.lineage ?? []) for (const id of l.from) if (!l.to.includes(id)) this.live.delete(id);
    return { clusterId: this.next.clusterId, similarity: 1, change: 'cluster_updated', lineage: this.next.lineage ?? [] };
  }
  clusters(): ClusterSummary[] {
    return [...this.live.values()];
  }
  describe(ids: readonly string[]): ClusterSummary[] {
    return ids.flatMap((id) => this.live.get(id) ?? []);
  }
  readonly nextSeq = 0;
  readonly idPrefix = 'c_';
  reserve(): void {}
  snapshot(): string {
    return JSON.stringify({ events: this.events });
  }
  applyRerun(): [] {
    return [];
  }
}

describe('clusters merged away or retired keep their description (embedded chDB)', () => {
  let store: Store;
  const model = new ScriptedModel();
  let assigner: ClusterAssigner;
  /** An assignment as the pipeline stores it: model version 1 is the lexical model's (the assigner's here). */
  const stored = async (clusterId: string, at: number, version = 1) =>
    store.client.command({
      query: `INSERT INTO assignments (event_id, case_id, cluster_id, occurred_at, model_version) VALUES ({e:String}, {e:String}, {c:String}, fromUnixTimestamp64Milli({t:Int64}), {v:UInt32})`,
      query_params: { e: `e-${clusterId}-${at}-${version}`, c: clusterId, t: at, v: version },
    });
  const row = async (id: string) =>
    (
      await select<{ label: string; top_terms: string[]; examples: string[]; size: number; first_seen: string; last_seen: string; state: string; merged_into: string }>(
        store.client,
        'SELECT label, top_terms, examples, size, toString(first_seen) AS first_seen, toString(last_seen) AS last_seen, state, merged_into FROM v_clusters WHERE cluster_id = {id:String}',
        { id },
      )
    )[0];

  /** A new cluster with one event, stored and checkpointed as live. */
  const liveAndCheckpointed = async (id: string, terms: string[], text: string, at: number) => {
    model.add(id, terms);
    model.next = { clusterId: id };
    assigner.assign(text, `e-${id}`, at);
    await stored(id, at);
    await assigner.maybeSnapshot(true);
  };

  beforeAll(async () => {
    store = await openStore({ dataDir: tempDir() } as never);
    await migrate(store.client, { dedupWindow: 100 });
    let now = Date.UTC(2026, 11, 6, 12);
    assigner = new ClusterAssigner(model, { offsets: {} }, 0, { client: store.client, log: silentLog, pipeline: 'test', snapshotEvery: 1, snapshotMinIntervalMs: 0, now: () => (now += 1000) });
  });

  afterAll(async () => store?.close());

  it('checkpoints a quiet stream by time, not again right after one failed, and counts a batch stored during a write towards the next', async () => {
    const m = new ScriptedModel();
    m.add('c_9', ['parcel', 'late']);
    m.next = { clusterId: 'c_9' };
    let now = DAY;
    let down = false;
    // The store refusing writes, as chDB out of disk or a server gone would.
    const client = new Proxy(store.client, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'insert') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.insert>) => {
          if (down) throw new Error('store down');
          return target.insert(...args);
        };
      },
    });
    const a = new ClusterAssigner(m, { offsets: {} }, 0, { client, log: silentLog, pipeline: 'cadence', snapshotEvery: 20, snapshotMinIntervalMs: 30_000, snapshotMaxIntervalMs: 60_000, now: () => now });
    a.assign('parcel late', 'e-cadence-1', DAY);
    a.noteBatch('t', 0, 0n);
    expect(a.snapshotDue()).toBe(false);
    now += 60_000; // one chunk of 20, but a minute with nothing saved
    expect(a.snapshotDue()).toBe(true);
    down = true;
    await expect(a.maybeSnapshot(false)).rejects.toThrow(/store down/);
    down = false;
    now += 5_000;
    expect(a.snapshotDue()).toBe(false); // not tried again at once (the 5 s timer would, every 5 s)
    now += 30_000;
    expect(a.snapshotDue()).toBe(true);
    const saving = a.maybeSnapshot(false);
    // Stored while that checkpoint is written: not in it, so the next one is due for it.
    a.assign('parcel still late', 'e-cadence-2', DAY);
    a.noteBatch('t', 0, 1n);
    await saving;
    now += 60_000;
    expect(a.snapshotDue()).toBe(true);
  });

  it('a merged cluster keeps its stored label, counts its own stored events and points at its survivor', async () => {
    model.add('c_1', ['card', 'arrive']);
    model.add('c_2', ['card', 'late']);
    model.next = { clusterId: 'c_1' };
    assigner.assign('my card has not arrived', 'e1', DAY);
    model.next = { clusterId: 'c_2' };
    assigner.assign('card is late', 'e2', DAY + 3_600_000);
    await stored('c_2', DAY + 3_600_000);
    await stored('c_2', DAY + 7_200_000);
    // Another model's cluster of the same id (a re-fit's version) is not this one's history.
    await stored('c_2', DAY + 86_400_000, 2);
    await assigner.maybeSnapshot(true);
    expect(await row('c_2')).toMatchObject({ label: 'card / late', state: 'live' });

    // The next event merges c_2 into c_1.
    model.next = { clusterId: 'c_1', lineage: [{ kind: 'merge', from: ['c_1', 'c_2'], to: ['c_1'], time: DAY + 8_000_000 }] };
    assigner.assign('card still not here', 'e3', DAY + 8_000_000);
    await assigner.maybeSnapshot(true);
    expect(await row('c_2')).toEqual({
      label: 'card / late',
      top_terms: ['card', 'late'],
      examples: ['example of c_2'],
      size: 2,
      first_seen: '2026-11-02 01:00:00.000',
      last_seen: '2026-11-02 02:00:00.000',
      state: 'merged',
      merged_into: 'c_1',
    });
    expect(await row('c_1')).toMatchObject({ label: 'card / arrive', state: 'live' });
    // What `recur status set` reads to tell the analyst where the merged cluster's new cases go.
    expect(await clusterState(store.client, 'c_2')).toEqual({ state: 'merged', merged_into: 'c_1' });
    expect(await clusterState(store.client, 'c_1')).toEqual({ state: 'live', merged_into: '' });
  });

  it('one merged before any checkpoint is described by the cluster it joined, for alerts and for the store', async () => {
    model.add('c_3', ['card', 'arrival']);
    model.next = { clusterId: 'c_3' };
    assigner.assign('where is my card', 'e4', DAY + 9_000_000);
    await stored('c_3', DAY + 9_000_000);
    // Merged into c_1 before the next checkpoint: the model no longer knows c_3.
    model.next = { clusterId: 'c_1', lineage: [{ kind: 'merge', from: ['c_1', 'c_3'], to: ['c_1'], time: DAY + 9_500_000 }] };
    assigner.assign('card not arrived yet', 'e5', DAY + 9_500_000);
    // An alert routed now for c_3 (its episode opened before the merge) reads as c_1's problem.
    expect(assigner.describe(['c_3', 'c_2', 'c_9'])).toEqual(
      new Map([
        ['c_3', { label: 'card / arrive', topTerms: ['card', 'arrive'], examples: ['example of c_1'] }],
        ['c_2', { label: 'card / arrive', topTerms: ['card', 'arrive'], examples: ['example of c_1'] }],
      ]),
    );
    await assigner.maybeSnapshot(true);
    expect(await row('c_3')).toMatchObject({ label: 'card / arrive', size: 1, first_seen: '2026-11-02 02:30:00.000', state: 'merged', merged_into: 'c_1' });
  });

  it('a merge or retirement made while a checkpoint is being written is recorded by the next one', async () => {
    await liveAndCheckpointed('c_5', ['pin', 'change'], 'change my pin', DAY + 11_000_000);
    model.next = { clusterId: 'c_1' };
    assigner.assign('card', 'e9', DAY + 11_500_000);
    // The checkpoint starts; before its writes finish, the next batch retires c_5.
    const writing = assigner.maybeSnapshot(true);
    model.next = { clusterId: 'c_1', lineage: [{ kind: 'retired', from: ['c_5'], to: [], time: DAY + 12_000_000 }] };
    assigner.assign('card again', 'e10', DAY + 12_000_000);
    await writing;
    await assigner.maybeSnapshot(true);
    expect(await row('c_5')).toMatchObject({ label: 'pin / change', state: 'retired' });
    const retired = await select<{ n: number }>(store.client, "SELECT toUInt64(count()) AS n FROM cluster_lineage WHERE kind = 'retired' AND has(from_ids, 'c_5')", {});
    expect(Number(retired[0]!.n)).toBe(1);
  });

  it('an event placed in a cluster merged away before the checkpoint is replayed, after a restart, into the cluster it joined', async () => {
    const at = (offset: number) => ({ topic: 'merged-replay', partition: 0, offset: BigInt(offset) });
    model.add('c_6', ['loan', 'rate']);
    model.next = { clusterId: 'c_6' };
    expect(assigner.assign('loan rate too high', 'e11', DAY + 21_000_000, at(0))).toEqual({ clusterId: 'c_6', similarity: 1 });
    // The next event merges c_6 into c_1; neither row is stored when the checkpoint is written.
    model.next = { clusterId: 'c_1', lineage: [{ kind: 'merge', from: ['c_1', 'c_6'], to: ['c_1'], time: DAY + 21_500_000 }] };
    assigner.assign('rate on my loan', 'e12', DAY + 21_500_000, at(1));
    await assigner.maybeSnapshot(true);

    const snap = (await loadLatestSnapshot(store.client, 'test'))!;
    const restarted = new ClusterAssigner(model, snap, snap.events, { client: store.client, log: silentLog, pipeline: 'test', snapshotEvery: 1, snapshotMinIntervalMs: 0, now: () => Date.now() });
    const eventsBefore = model.events;
    // Re-delivered after the restart: the kept placement, in the cluster c_6 joined, and not learned again.
    expect(restarted.assign('loan rate too high', 'e11', DAY + 21_000_000, at(0))).toEqual({ clusterId: 'c_1', similarity: 1 });
    expect(restarted.assign('rate on my loan', 'e12', DAY + 21_500_000, at(1))).toEqual({ clusterId: 'c_1', similarity: 1 });
    expect(model.events).toBe(eventsBefore);
  });

  it('a retired cluster keeps its stored description', async () => {
    await liveAndCheckpointed('c_4', ['statement', 'download'], 'cannot download statement', DAY + 10_000_000);
    model.next = { clusterId: 'c_1', lineage: [{ kind: 'retired', from: ['c_4'], to: [], time: DAY + 20_000_000 }] };
    assigner.assign('card', 'e7', DAY + 20_000_000);
    await assigner.maybeSnapshot(true);
    expect(await row('c_4')).toMatchObject({ label: 'statement / download', size: 1, state: 'retired', merged_into: '' });
  });
});
