import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, loadLatestSnapshot, recordBirths, type Store } from '../../src/store/index.js';
import type { Ingestor } from '../../src/pipeline/ingest.js';
import { clusterIdPrefix, createAssigner, type ClusterAssigner } from '../../src/pipeline/assigner.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import type { Config } from '../../src/config/index.js';
import type { BatchContext, SourceBatch, SourceMessage } from '../../src/sources/index.js';
import { select } from '../../src/store/select.js';
import { chunkedIngestor, goodEvent, silentLog, testConfig, uniqueName } from '../helpers/env.js';

// The model learns an event when it places it, before its rows are stored. What users rely on: an event
// shapes the clusters once, however often it is delivered — after a batch abandoned between placing and
// storing (partition revoked, stop), after a re-delivery of rows stored but not yet committed, and after a
// restart from a checkpoint taken in between. The model's event count (model_snapshots.events) says how
// many events it learned from; a second learning also pulls centroids twice towards the same text.
describe('an event is learned once however often it is delivered (embedded chDB, lexical model)', () => {
  let store: Store;
  const live: BatchContext = { isStale: () => false, heartbeat: async () => {} };
  // Revoked before its first write: the batch places its first chunks, then gives up.
  const revoked: BatchContext = { isStale: () => true, heartbeat: async () => {} };

  beforeAll(async () => {
    const config = testConfig();
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
  });

  afterAll(async () => store?.close());

  function setup(): { config: Config; topic: string; messages: SourceMessage[] } {
    const config = testConfig({ 'cluster.pipeline': uniqueName('relearn') });
    const messages = Array.from({ length: 20 }, (_, i) => ({ offset: BigInt(i), key: null, value: Buffer.from(JSON.stringify(goodEvent(i))), timestampMs: 0 }));
    return { config, topic: uniqueName('relearn'), messages };
  }

  const batch = (topic: string, messages: SourceMessage[], generation: number): SourceBatch => ({ topic, partition: 0, generation, messages });

  function ingestor(config: Config, assigner: ClusterAssigner, metrics = new Metrics()): Ingestor {
    return chunkedIngestor(store.client, config, { assigner, metrics });
  }

  /** The model's event count, as its checkpoint records it. */
  async function learned(config: Config, assigner: ClusterAssigner): Promise<number> {
    await assigner.maybeSnapshot(true);
    return (await loadLatestSnapshot(store.client, config.cluster.pipeline))!.events;
  }

  async function assignments(topic: string): Promise<Map<number, string>> {
    const rs = await store.client.query({
      query: 'SELECT toUInt64(source_offset) AS o, cluster_id FROM assignments WHERE source_topic = {topic:String} ORDER BY o',
      query_params: { topic },
      format: 'JSONEachRow',
    });
    return new Map((await rs.json<{ o: string; cluster_id: string }>()).map((r) => [Number(r.o), r.cluster_id]));
  }

  it('a batch abandoned after placing its events, delivered again, is not learned again', async () => {
    const { config, topic, messages } = setup();
    const assigner = await createAssigner(config, store.client, silentLog);
    const ing = ingestor(config, assigner);
    await expect(ing.handle(batch(topic, messages, 1), revoked)).rejects.toThrow(/abandoned/);
    expect((await assignments(topic)).size).toBe(0);
    // Two chunks of 7 were placed before the first write gave up.
    expect(await learned(config, assigner)).toBe(14);
    expect((await ing.handle(batch(topic, messages, 2), live)).storedThrough).toBe(19n);
    expect((await assignments(topic)).size).toBe(20);
    expect(await learned(config, assigner)).toBe(20);
  });

  it("a batch abandoned after its first chunk was stored and its second chunk's intent recorded: the replay mixes stored rows and kept placements", async () => {
    const { config, topic, messages } = setup();
    const assigner = await createAssigner(config, store.client, silentLog);
    const metrics = new Metrics();
    const ing = ingestor(config, assigner, metrics);
    // Ownership is checked before each write: chunk [0-6] writes its ledger row, case_events and assignments
    // (checks 1-3), chunk [7-13] its ledger row (4); it is lost before chunk [7-13]'s rows.
    let checks = 0;
    const lostMidway: BatchContext = { isStale: () => ++checks >= 5, heartbeat: async () => {} };
    await expect(ing.handle(batch(topic, messages, 1), lostMidway)).rejects.toThrow(/abandoned/);
    expect([...(await assignments(topic)).keys()]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const [intent] = await select<{ first: string; last: string }>(
      store.client,
      'SELECT toString(first_offset) AS first, toString(last_offset) AS last FROM ingest_ledger WHERE source_topic = {topic:String} ORDER BY last_offset DESC LIMIT 1',
      { topic },
    );
    expect(intent).toEqual({ first: '7', last: '13' });
    expect((await ing.handle(batch(topic, messages, 2), live)).storedThrough).toBe(19n);
    expect((await assignments(topic)).size).toBe(20);
    expect(await learned(config, assigner)).toBe(20);
    // Every re-delivered event had its placement kept or stored: none was placed a second time.
    expect(metrics.prometheus()).not.toMatch(/^recur_events_relearned_total [1-9]/m);
  });

  it('rows stored but not committed, delivered again, are replayed without learning them again', async () => {
    const { config, topic, messages } = setup();
    const assigner = await createAssigner(config, store.client, silentLog);
    const ing = ingestor(config, assigner);
    expect((await ing.handle(batch(topic, messages, 1), live)).storedThrough).toBe(19n);
    const first = await assignments(topic);
    // A rebalance before the commit: the same messages again, under a new generation.
    expect((await ing.handle(batch(topic, messages, 2), live)).storedThrough).toBe(19n);
    expect(await assignments(topic)).toEqual(first);
    expect(await learned(config, assigner)).toBe(20);
  });

  it('after a restart from a checkpoint taken between placing and storing, the stored rows carry the placements the model learned', async () => {
    const { config, topic, messages } = setup();
    const before = await createAssigner(config, store.client, silentLog);
    await expect(ingestor(config, before).handle(batch(topic, messages, 1), revoked)).rejects.toThrow(/abandoned/);
    // The forced checkpoint at stop holds the 14 placed events, and what they were placed in.
    expect(await learned(config, before)).toBe(14);
    const snap = (await loadLatestSnapshot(store.client, config.cluster.pipeline))!;
    const placed = new Map(snap.unstored![`${topic}\u00000`]!.map(([o, clusterId]) => [Number(o), clusterId]));
    expect([...placed.keys()]).toEqual(Array.from({ length: 14 }, (_, i) => i));

    const after = await createAssigner(config, store.client, silentLog);
    expect((await ingestor(config, after).handle(batch(topic, messages, 1), live)).storedThrough).toBe(19n);
    const stored = await assignments(topic);
    expect(stored.size).toBe(20);
    for (const [o, clusterId] of placed) expect(stored.get(o)).toBe(clusterId);
    // 14 restored with the model, 6 learned now: not 14 + 20.
    expect(await learned(config, after)).toBe(20);
  });

  /**
   * Two partitions, three problems each (two wordings apiece), twelve events per partition stored by a first
   * process that never checkpoints; the model creates their clusters in the order it meets them.
   */
  async function twoPartitions() {
    const config = testConfig({ 'cluster.pipeline': uniqueName('order') });
    const topic = uniqueName('order');
    const problems = [
      ['parcel delivered to the wrong address again', 'the courier left my parcel at the wrong address'],
      ['refund for the cancelled subscription never arrived', 'still waiting for the subscription refund'],
      ['cannot log in after the password reset', 'password reset link does not let me log in'],
      ['invoice shows the wrong tax number', 'the tax number on my invoice is wrong'],
      ['bluetooth headset keeps disconnecting from the phone', 'headset bluetooth drops the connection'],
      ['printer paper jam error every morning', 'paper jam on the printer every day'],
    ];
    const problemOf = (partition: number, offset: number) => partition * 3 + (offset % 3);
    const part = (partition: number, from: number, count: number): SourceMessage[] =>
      Array.from({ length: count }, (_, i) => ({
        offset: BigInt(from + i),
        key: null,
        value: Buffer.from(JSON.stringify({ ...goodEvent(from + i), event_id: `p${partition}-${from + i}`, description: problems[problemOf(partition, from + i)]![Math.floor((from + i) / 3) % 2] })),
        timestampMs: 0,
      }));
    const deliver = (ing: Ingestor, partition: number, messages: SourceMessage[], generation: number) => ing.handle({ topic, partition, generation, messages }, live);
    const first = ingestor(config, await createAssigner(config, store.client, silentLog));
    await deliver(first, 0, part(0, 0, 12), 1);
    await deliver(first, 1, part(1, 0, 12), 1);
    /** After the replay: new events of every problem, then what an analyst relies on. */
    const check = async (ing: Ingestor) => {
      await deliver(ing, 0, part(0, 12, 6), 3);
      await deliver(ing, 1, part(1, 12, 6), 3);
      const rows = await select<{ p: number; o: string; cluster_id: string }>(
        store.client,
        'SELECT source_partition AS p, toString(source_offset) AS o, cluster_id FROM assignments WHERE source_topic = {topic:String}',
        { topic },
      );
      expect(rows).toHaveLength(36);
      const problemsOf = new Map<string, Set<number>>();
      for (const r of rows) problemsOf.set(r.cluster_id, (problemsOf.get(r.cluster_id) ?? new Set()).add(problemOf(Number(r.p), Number(r.o))));
      // No id names two problems: cluster_counts would add them together. (Before: the restart gave partition 1's
      // first problem c_0, and its new events were stored under the id partition 0's first problem had.)
      for (const [id, ps] of problemsOf) expect([id, [...ps]]).toEqual([id, [...ps].slice(0, 1)]);
      // Partition 0's new events join clusters its rows from before the restart name for the same problem.
      const earlier = new Set(rows.filter((r) => Number(r.p) === 0 && Number(r.o) < 12).map((r) => `${Number(r.o) % 3}/${r.cluster_id}`));
      for (const r of rows.filter((r) => Number(r.p) === 0 && Number(r.o) >= 12)) expect(earlier).toContain(`${Number(r.o) % 3}/${r.cluster_id}`);
    };
    return { config, part, deliver, check };
  }

  it('after a restart that relearns two partitions in another order, each stored cluster id still names one problem', async () => {
    const { config, part, deliver, check } = await twoPartitions();
    // A crash before any checkpoint: the next process relearns both partitions, partition 1 first.
    const next = ingestor(config, await createAssigner(config, store.client, silentLog));
    await deliver(next, 1, part(1, 0, 12), 2);
    await deliver(next, 0, part(0, 0, 12), 2);
    await check(next);
  });

  it('the same when a checkpoint is taken after relearning only partition 1, and a third process relearns partition 0', async () => {
    const { config, part, deliver, check } = await twoPartitions();
    const second = await createAssigner(config, store.client, silentLog);
    await deliver(ingestor(config, second), 1, part(1, 0, 12), 2);
    // Its checkpoint holds numbers reserved for partition 0's clusters that it has not made again yet.
    await second.maybeSnapshot(true);
    const third = ingestor(config, await createAssigner(config, store.client, silentLog));
    await deliver(third, 0, part(0, 0, 12), 2);
    await check(third);
  });

  it('a checkpoint written while another partition\'s event starts a cluster: that event gives the cluster its id again after a restart', async () => {
    const config = testConfig({ 'cluster.pipeline': uniqueName('racing') });
    const day = Date.UTC(2026, 10, 1);
    const at = (partition: number) => ({ topic: 'racing', partition, offset: 0n });
    const first = await createAssigner(config, store.client, silentLog);
    first.assign('card declined at the shop', 'a', day, at(0));
    // The checkpoint captures the model now, then writes while partition 1's event starts a cluster (and its
    // birth is recorded, as a chunk's store does before its rows).
    const saving = first.maybeSnapshot(true);
    const placed = first.assign('parcel delivered to the wrong address', 'b', day, at(1))!;
    await first.flushBirths();
    await saving;
    const restarted = await createAssigner(config, store.client, silentLog);
    expect(restarted.assign('parcel delivered to the wrong address', 'b', day, at(1))!.clusterId).toBe(placed.clusterId);
  });

  it('an event dated decades ahead does not move the model clock: the small clusters of the day stay live', async () => {
    const config = testConfig({ 'cluster.pipeline': uniqueName('future') });
    const now = Date.UTC(2026, 10, 20);
    const assigner = await createAssigner(config, store.client, silentLog, () => now);
    const small = ['card declined at the shop', 'transfer pending for days', 'change my pin code', 'refund never arrived', 'app login crashes',
      'statement pdf missing', 'atm swallowed my card', 'exchange rate is wrong', 'account locked out'];
    const day = Date.UTC(2026, 10, 19);
    const ids = small.map((t, i) => assigner.assign(t, `s${i}`, day)!.clusterId);
    for (let i = 0; i < 990; i++) assigner.assign('parcel delivery late again', `p${i}`, day);
    expect(assigner.describe(ids).size).toBe(small.length);
    // The 1,000th event (a maintenance pass) carries a mistyped year: 73 years after their last event,
    // every small cluster would be stale and retire.
    assigner.assign('parcel delivery late again', 'p-2099', Date.UTC(2099, 0, 1));
    expect(assigner.describe(ids).size).toBe(small.length);
  });

  it("relearning after a restart caps an event dated far ahead at its stored arrival, as the run that stored it did, not at the restart's clock", async () => {
    const config = testConfig({ 'cluster.pipeline': uniqueName('ahead') });
    const topic = uniqueName('ahead');
    const arrived = Date.UTC(2026, 10, 20, 12);
    // Ten events in chunks of 7: the restart relearns the first chunk (before the last intent) without writing it.
    const times = Array.from({ length: 10 }, (_, i) => (i === 1 ? Date.UTC(2027, 11, 24) : Date.UTC(2026, 10, 20, 11)));
    const messages: SourceMessage[] = times.map((t, i) => ({
      offset: BigInt(i),
      key: null,
      value: Buffer.from(JSON.stringify({ ...goodEvent(i), description: 'parcel delivery late again', occurred_at: new Date(t).toISOString() })),
      timestampMs: 0,
    }));
    // The restart's checkpoint writes its clusters at its clock; its first cluster's id carries its pipeline's name.
    const first0 = `${clusterIdPrefix('c_', config.cluster.pipeline)}0`;
    const lastSeen = async (at: number) => {
      const [row] = await select<{ t: number }>(
        store.client,
        'SELECT toInt64(toUnixTimestamp64Milli(last_seen)) AS t FROM clusters WHERE cluster_id = {id:String} AND updated_at = fromUnixTimestamp64Milli({at:Int64}, \'UTC\')',
        { at, id: first0 },
      );
      return Number(row!.t);
    };
    // Stored by a first process that never checkpointed; its model's clock went a day past the event's arrival.
    const first = await createAssigner(config, store.client, silentLog, () => arrived);
    await chunkedIngestor(store.client, config, { assigner: first, now: () => arrived }).handle({ topic, partition: 0, generation: 1, messages }, live);
    // A restart forty days on relearns both: the cluster's last event is still a day past the arrival, not past the restart.
    const restart = arrived + 40 * 86_400_000;
    const second = await createAssigner(config, store.client, silentLog, () => restart);
    await chunkedIngestor(store.client, config, { assigner: second, now: () => restart }).handle({ topic, partition: 0, generation: 2, messages }, live);
    await second.maybeSnapshot(true);
    expect(new Date(await lastSeen(restart)).toISOString()).toBe(new Date(arrived + 86_400_000).toISOString());
  });

  it('a pipeline with births but no checkpoint keeps the ids its births carry; a new one takes its name in them', async () => {
    const legacy = testConfig({ 'cluster.pipeline': uniqueName('legacy') });
    // Births an older version recorded (c_0, c_1), and no checkpoint: the process stopped before its first.
    await recordBirths(store.client, legacy.cluster.pipeline, 1, [0, 1].map((seq) => ({ clusterId: `c_${seq}`, seq, topic: 't', partition: 0, offset: BigInt(seq), bornAtMs: Date.UTC(2026, 10, 1) })));
    expect((await createAssigner(legacy, store.client, silentLog)).idPrefix).toBe('c_');
    const fresh = testConfig({ 'cluster.pipeline': uniqueName('fresh') });
    expect((await createAssigner(fresh, store.client, silentLog)).idPrefix).toBe(`c_${fresh.cluster.pipeline}:`);
  });

  it('labels read the same words after a restart from a checkpoint, not word stems', async () => {
    const config = testConfig({ 'cluster.pipeline': uniqueName('labels') });
    const texts = ['card declined at checkout', 'declined checkout with my card', 'paying online keeps failing', 'paying online failed twice'];
    const first = await createAssigner(config, store.client, silentLog);
    const ids = [...new Set(Array.from({ length: 40 }, (_, i) => first.assign(texts[i % 4]!, `l${i}`, Date.UTC(2026, 10, 1))!.clusterId))];
    const before = [...first.describe(ids).values()].map((d) => d.label);
    expect(before.join(' ')).toMatch(/declined/);
    await first.maybeSnapshot(true);
    const restarted = await createAssigner(config, store.client, silentLog);
    expect([...restarted.describe(ids).values()].map((d) => d.label)).toEqual(before);
  });
});
