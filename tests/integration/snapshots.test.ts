import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, migrate, pipelinesSharingIds, recordBirths, saveSnapshot, loadLatestSnapshot, type Store } from '../../src/store/index.js';
import { select } from '../../src/store/select.js';
import { tempDir } from '../helpers/env.js';

// Model snapshots: the newest one per pipeline and model version is restored, and only it is kept — a
// pipeline checkpoints every 30 s, tens of MB each at thousands of clusters.
describe('model_snapshots keeps the newest snapshot only (embedded chDB)', () => {
  let store: Store;
  const rows = async (): Promise<{ pipeline: string; model_version: number; events: string }[]> =>
    select(store.client, 'SELECT pipeline, model_version, toString(events) AS events FROM model_snapshots ORDER BY pipeline, model_version, events', {});
  const save = (pipeline: string, modelVersion: number, events: number, atMs: number): Promise<void> =>
    saveSnapshot(store.client, { pipeline, modelVersion, offsets: { 'topic\u00000': String(events) }, events, state: `state after ${events}` }, atMs);

  beforeAll(async () => {
    store = await openStore({ dataDir: tempDir() } as never);
    await migrate(store.client, { dedupWindow: 100 });
  });

  afterAll(async () => store?.close());

  it('restores the newest and merges the others away', async () => {
    for (let i = 1; i <= 5; i++) await save('p', 1, 100 * i, Date.UTC(2026, 10, 1, 0, i));
    await save('p', 2, 50, Date.UTC(2026, 10, 1, 0, 3)); // another model version: kept beside
    await save('q', 1, 7, Date.UTC(2026, 10, 1, 0, 1)); // another pipeline: kept beside
    expect(await loadLatestSnapshot(store.client, 'p')).toMatchObject({ modelVersion: 1, events: 500, state: 'state after 500', offsets: { 'topic\u00000': '500' } });
    await store.client.command({ query: 'OPTIMIZE TABLE model_snapshots FINAL' });
    expect(await rows()).toEqual([
      { pipeline: 'p', model_version: 1, events: '500' },
      { pipeline: 'p', model_version: 2, events: '50' },
      { pipeline: 'q', model_version: 1, events: '7' },
    ]);
    expect(await loadLatestSnapshot(store.client, 'p')).toMatchObject({ events: 500, state: 'state after 500' });
  });

  it('restores the newest checkpoint of the model version asked for, even when another version checkpointed later', async () => {
    await save('v', 1, 5, Date.UTC(2026, 10, 1, 0, 1)); // lexical
    await save('v', 2, 9, Date.UTC(2026, 10, 1, 0, 2)); // a later start by meaning
    expect(await loadLatestSnapshot(store.client, 'v', 1)).toMatchObject({ modelVersion: 1, events: 5 });
    expect(await loadLatestSnapshot(store.client, 'v', 2)).toMatchObject({ modelVersion: 2, events: 9 });
    expect(await loadLatestSnapshot(store.client, 'v', 3)).toBeNull();
  });

  it('stores the model state deflated, restores it exactly, and restores a state stored plain', async () => {
    const state = JSON.stringify({ clusters: Array.from({ length: 2000 }, (_, i) => ({ id: `c_${i}`, examples: ['my card was declined "again"\tat the shop'], w: i / 7 })) });
    await saveSnapshot(store.client, { pipeline: 'z', modelVersion: 1, offsets: {}, events: 1, state }, Date.UTC(2026, 10, 1, 1));
    const [stored] = await select<{ state: string }>(store.client, "SELECT state FROM model_snapshots WHERE pipeline = 'z'", {});
    expect(stored!.state.startsWith('deflate-raw+base64:')).toBe(true);
    expect(stored!.state.length).toBeLessThan(state.length / 4);
    expect((await loadLatestSnapshot(store.client, 'z'))!.state).toBe(state);
    // As versions before the deflated format stored it: plain JSON, read as it is.
    await store.client.command({
      query: `INSERT INTO model_snapshots (pipeline, model_version, offsets, events, state, taken_at) VALUES ('z', 1, '{}', 2, '{"plain":true}', '2026-11-01 02:00:00')`,
    });
    expect((await loadLatestSnapshot(store.client, 'z'))!.state).toBe('{"plain":true}');
  });

  it('restores what the model learned past its stored offsets, and reads a snapshot saved without it', async () => {
    const placed = { 'topic\u00000': [['501', 'c_3', 0.5] as [string, string, number]] };
    await saveSnapshot(
      store.client,
      { pipeline: 'r', modelVersion: 1, offsets: { 'topic\u00000': '500' }, learned: { 'topic\u00000': '501' }, unstored: placed, events: 502, state: 's' },
      Date.UTC(2026, 10, 1, 1),
    );
    expect(await loadLatestSnapshot(store.client, 'r')).toMatchObject({ events: 502, learned: { 'topic\u00000': '501' }, unstored: placed });
    // A row from before 008: its placements column holds the default.
    await store.client.command({
      query: `INSERT INTO model_snapshots (pipeline, model_version, offsets, events, state, taken_at)
              VALUES ('r', 1, '{}', 503, 's', '2026-11-01 02:00:00')`,
    });
    const old = await loadLatestSnapshot(store.client, 'r');
    expect(old).toMatchObject({ events: 503 });
    expect(old!.learned).toBeUndefined();
    expect(old!.unstored).toBeUndefined();
  });

  it('migrations 007 and 008 keep the newest of the snapshots an earlier version stored', async () => {
    // The table as migration 001 made it, holding what a pipeline saved over time, then 007 and 008 again.
    await store.client.command({ query: 'DROP TABLE model_snapshots' });
    await store.client.command({
      query: `CREATE TABLE model_snapshots (pipeline LowCardinality(String), model_version UInt32, offsets String, events UInt64,
              state String CODEC(ZSTD(3)), taken_at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY (pipeline, taken_at)`,
    });
    const saveOld = (pipeline: string, modelVersion: number, events: number, atMs: number) =>
      store.client.insert({
        table: 'model_snapshots',
        values: [{ pipeline, model_version: modelVersion, offsets: '{}', events, state: `state after ${events}`, taken_at: atMs }],
        format: 'JSONEachRow',
      });
    for (let i = 1; i <= 4; i++) await saveOld('p', 1, 10 * i, Date.UTC(2026, 10, 2, i));
    await saveOld('p', 3, 99, Date.UTC(2026, 10, 2, 2));
    expect(await rows()).toHaveLength(5);
    await store.client.command({ query: "DELETE FROM schema_migrations WHERE version IN ('007_latest_snapshot_only', '008_snapshot_placements')" });
    expect((await migrate(store.client, { dedupWindow: 100 })).applied).toEqual(['007_latest_snapshot_only', '008_snapshot_placements']);
    expect(await rows()).toEqual([
      { pipeline: 'p', model_version: 1, events: '40' },
      { pipeline: 'p', model_version: 3, events: '99' },
    ]);
    expect(await loadLatestSnapshot(store.client, 'p')).toMatchObject({ modelVersion: 1, events: 40, state: 'state after 40' });
  });

  it('names the other pipelines whose clusters took ids a model of this prefix gives too', async () => {
    const born = (pipeline: string, ...ids: string[]) =>
      recordBirths(store.client, pipeline, 1, ids.map((clusterId, i) => ({ clusterId, seq: i, topic: 't', partition: 0, offset: BigInt(i), bornAtMs: Date.UTC(2026, 10, 1) })));
    await born('default', 'c_0', 'c_1');
    // A pipeline whose model was created before ids carried the pipeline's name: c_0 names two problems.
    await born('legacy', 'c_0', 'c_7');
    await born('eu', 'c_eu:0', 'c_eu:1');
    await born('by-meaning', 's_by-meaning_0');
    expect(await pipelinesSharingIds(store.client, 'default', 'c_')).toEqual(['legacy']);
    expect(await pipelinesSharingIds(store.client, 'legacy', 'c_')).toEqual(['default']);
    expect(await pipelinesSharingIds(store.client, 'eu', 'c_eu:')).toEqual([]);
    expect(await pipelinesSharingIds(store.client, 'default', 's_')).toEqual([]);
    // A pipeline named "eu_1" numbers c_eu_1:0…; "eu"'s c_eu:1 is not one of them.
    expect(await pipelinesSharingIds(store.client, 'eu_1', 'c_eu_1:')).toEqual([]);
  });
});
