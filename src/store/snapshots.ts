import type { ClickHouseClient } from '@clickhouse/client';
import { chTime, insertIdempotent } from './writer.js';

export interface ModelSnapshot {
  pipeline: string;
  modelVersion: number;
  /** "topic\u0000partition" → last offset whose event the model has seen (and whose rows are stored). */
  offsets: Record<string, string>;
  events: number;
  state: string;
  /**
   * "topic\u0000partition" → last offset the model has learned from (at least `offsets`), and the placements it
   * made past `offsets` whose rows were not stored when the snapshot was taken: [offset, cluster id, similarity].
   * Absent in snapshots from before 008_snapshot_placements: learned up to `offsets`, nothing unstored.
   */
  learned?: Record<string, string>;
  unstored?: Record<string, [string, string, number][]>;
}

/** Snapshots are keyed by what they cover, so re-saving the same one is a no-op. */
export async function saveSnapshot(client: ClickHouseClient, s: ModelSnapshot, nowMs: number): Promise<void> {
  await insertIdempotent(
    client,
    'model_snapshots',
    [
      {
        pipeline: s.pipeline,
        model_version: s.modelVersion,
        offsets: JSON.stringify(s.offsets),
        events: s.events,
        state: s.state,
        placements: JSON.stringify({ learned: s.learned ?? {}, unstored: s.unstored ?? {} }),
        taken_at: chTime(nowMs),
      },
    ],
    `snapshot/${s.pipeline}/${s.modelVersion}/${s.events}`,
  );
}

export async function loadLatestSnapshot(client: ClickHouseClient, pipeline: string): Promise<ModelSnapshot | null> {
  const rs = await client.query({
    query: `SELECT pipeline, model_version, offsets, toString(events) AS events, state, placements FROM model_snapshots
            WHERE pipeline = {pipeline:String} ORDER BY taken_at DESC, events DESC LIMIT 1`,
    query_params: { pipeline },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ pipeline: string; model_version: number; offsets: string; events: string; state: string; placements: string }>();
  if (!row) return null;
  return {
    pipeline: row.pipeline,
    modelVersion: Number(row.model_version),
    offsets: JSON.parse(row.offsets) as Record<string, string>,
    events: Number(row.events),
    state: row.state,
    ...(row.placements === '' ? {} : (JSON.parse(row.placements) as Pick<ModelSnapshot, 'learned' | 'unstored'>)),
  };
}
