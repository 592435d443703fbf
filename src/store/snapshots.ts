import { promisify } from 'node:util';
import { deflateRaw, inflateRaw, constants } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import { chTime, insertIdempotent } from './writer.js';
import { select } from './select.js';

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/**
 * A model state is stored deflated and base64-encoded behind this prefix: about 0.36 of its JSON at 9,530 clusters
 * (20.7 → 7.4 MB, 155 ms in zlib's thread pool). The insert of the plain 20 MB row took embedded chDB ~190 MB of
 * transient memory, the peak of a whole backfill. States without the prefix (plain JSON) still restore.
 */
const DEFLATED = 'deflate-raw+base64:';

async function encodeState(state: string): Promise<string> {
  return DEFLATED + (await deflate(Buffer.from(state, 'utf8'), { level: 1 })).toString('base64');
}

async function decodeState(stored: string): Promise<string> {
  if (!stored.startsWith(DEFLATED)) return stored;
  return (await inflate(Buffer.from(stored.slice(DEFLATED.length), 'base64'), { finishFlush: constants.Z_SYNC_FLUSH })).toString('utf8');
}

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
  /** Words for the stems of the live clusters' terms ("declin" → "declined"), so labels read the same after a restart. */
  surfaces?: [string, string][];
  /** cluster_births from this sequence number on are the restart's to read (absent in older snapshots: all). */
  birthsFrom?: number;
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
        state: await encodeState(s.state),
        placements: JSON.stringify({ learned: s.learned ?? {}, unstored: s.unstored ?? {}, ...(s.surfaces ? { surfaces: s.surfaces } : {}), ...(s.birthsFrom === undefined ? {} : { birthsFrom: s.birthsFrom }) }),
        taken_at: chTime(nowMs),
      },
    ],
    `snapshot/${s.pipeline}/${s.modelVersion}/${s.events}`,
  );
}

/**
 * The newest checkpoint of a pipeline; with `modelVersion`, the newest of that model version (a start as
 * another model, say lexical while the embedder's files were missing, checkpoints under its own version,
 * and must not hide this version's checkpoint: a fresh model would hand out its ids again).
 */
export async function loadLatestSnapshot(client: ClickHouseClient, pipeline: string, modelVersion?: number): Promise<ModelSnapshot | null> {
  const rs = await client.query({
    query: `SELECT pipeline, model_version, offsets, toString(events) AS events, state, placements FROM model_snapshots
            WHERE pipeline = {pipeline:String} ${modelVersion === undefined ? '' : 'AND model_version = {version:UInt32}'}
            ORDER BY taken_at DESC, events DESC LIMIT 1`,
    query_params: { pipeline, ...(modelVersion === undefined ? {} : { version: modelVersion }) },
    format: 'JSONEachRow',
  });
  const [row] = await rs.json<{ pipeline: string; model_version: number; offsets: string; events: string; state: string; placements: string }>();
  if (!row) return null;
  return {
    pipeline: row.pipeline,
    modelVersion: Number(row.model_version),
    offsets: JSON.parse(row.offsets) as Record<string, string>,
    events: Number(row.events),
    state: await decodeState(row.state),
    ...(row.placements === '' ? {} : (JSON.parse(row.placements) as Pick<ModelSnapshot, 'learned' | 'unstored' | 'surfaces' | 'birthsFrom'>)),
  };
}

/**
 * The other cluster pipelines (`cluster.pipeline`) that gave this store cluster ids of `prefix` and a number: the ids
 * a model of `prefix` gives too. The tables that count and describe clusters do not know pipelines, so one such id
 * may name two problems. A model of a pipeline other than the default carries the pipeline's name in its ids
 * (clusterIdPrefix) and shares none; models created before it did (c_0, c_1… in every pipeline) may.
 */
export async function pipelinesSharingIds(client: ClickHouseClient, pipeline: string, prefix: string): Promise<string[]> {
  const rows = await select<{ pipeline: string }>(
    client,
    `SELECT DISTINCT pipeline FROM cluster_births
     WHERE pipeline != {pipeline:String} AND startsWith(cluster_id, {prefix:String})
       AND match(substring(cluster_id, length({prefix:String}) + 1), '^[0-9]+$')
     ORDER BY pipeline`,
    { pipeline, prefix },
  );
  return rows.map((r) => r.pipeline);
}
