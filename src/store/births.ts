import type { ClickHouseClient } from '@clickhouse/client';
import { select } from './select.js';
import { chTime, insertIdempotent } from './writer.js';

/** A cluster a live model started, and the event that started it (partition -1: an event without a location). */
export interface Birth {
  clusterId: string;
  seq: number;
  topic: string;
  partition: number;
  offset: bigint;
  bornAtMs: number;
}

/** Records births (see schemas/clickhouse/012_cluster_births.sql); a repeat of one is harmless. */
export async function recordBirths(client: ClickHouseClient, pipeline: string, modelVersion: number, births: readonly Birth[]): Promise<void> {
  if (births.length === 0) return;
  const rows = births.map((b) => ({
    pipeline,
    model_version: modelVersion,
    cluster_id: b.clusterId,
    seq: b.seq,
    source_topic: b.topic,
    source_partition: b.partition,
    source_offset: b.offset.toString(),
    born_at: chTime(b.bornAtMs),
  }));
  // No token: a repeat is one more row under the same (pipeline, model_version, seq) key, collapsed by the
  // ReplacingMergeTree and read with FINAL or max().
  await insertIdempotent(client, 'cluster_births', rows, null);
}

/** The highest sequence number any cluster of this model was born with, or -1. */
export async function maxBirthSeq(client: ClickHouseClient, pipeline: string, modelVersion: number): Promise<number> {
  const [row] = await select<{ n: number; m: number }>(
    client,
    'SELECT count() AS n, max(seq) AS m FROM cluster_births WHERE pipeline = {pipeline:String} AND model_version = {version:UInt32}',
    { pipeline, version: modelVersion },
  );
  return row && Number(row.n) > 0 ? Number(row.m) : -1;
}

/** Births with a sequence number of at least `fromSeq`, of events with a location. */
export async function birthsFrom(client: ClickHouseClient, pipeline: string, modelVersion: number, fromSeq: number): Promise<Birth[]> {
  const rows = await select<{ cluster_id: string; seq: number; source_topic: string; source_partition: number; o: string; at: number }>(
    client,
    `SELECT cluster_id, seq, source_topic, source_partition, toString(source_offset) AS o, toInt64(toUnixTimestamp64Milli(born_at)) AS at
     FROM cluster_births FINAL
     WHERE pipeline = {pipeline:String} AND model_version = {version:UInt32} AND seq >= {from:UInt64} AND source_partition >= 0
     ORDER BY seq`,
    { pipeline, version: modelVersion, from: fromSeq },
  );
  return rows.map((r) => ({ clusterId: r.cluster_id, seq: Number(r.seq), topic: r.source_topic, partition: Number(r.source_partition), offset: BigInt(r.o), bornAtMs: Number(r.at) }));
}

/**
 * The id prefix the births of a model carry (cluster_id less its seq): a model with births but no checkpoint is
 * created with it, so the events relearned give their clusters the ids their stored rows have (one recorded as
 * c_3 came back as c_eu:3 once new models of a pipeline other than the default took its name). Null without births.
 */
export async function bornPrefix(client: ClickHouseClient, pipeline: string, modelVersion: number): Promise<string | null> {
  const [row] = await select<{ cluster_id: string; seq: number }>(
    client,
    'SELECT cluster_id, seq FROM cluster_births WHERE pipeline = {pipeline:String} AND model_version = {version:UInt32} ORDER BY seq LIMIT 1',
    { pipeline, version: modelVersion },
  );
  if (!row) return null;
  const n = String(row.seq);
  return row.cluster_id.endsWith(n) ? row.cluster_id.slice(0, -n.length) : null;
}
