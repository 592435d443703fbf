import type { ClickHouseClient } from '@clickhouse/client';
import type { RerunDecision } from '../cluster/online.js';
import { select } from './select.js';

/** A cluster that left the live model: merged into another, or retired. */
export interface GoneCluster {
  id: string;
  state: 'merged' | 'retired';
  /** The cluster it was merged into ('' when retired). */
  into: string;
}

/**
 * The clusters a lineage takes out of the live model: a merge's sources other than its survivor, and
 * a retired cluster. Splits and new clusters take none out.
 */
export function goneClusters(lineage: readonly { kind: string; from: readonly string[]; to: readonly string[] }[]): GoneCluster[] {
  return lineage.flatMap((l): GoneCluster[] => {
    if (l.kind === 'merge') return l.from.filter((id) => !l.to.includes(id)).map((id) => ({ id, state: 'merged', into: l.to[0] ?? '' }));
    if (l.kind === 'retired') return l.from.map((id) => ({ id, state: 'retired', into: '' }));
    return [];
  });
}

/**
 * `clusters` rows marking clusters merged away or retired. Each keeps what it was: its last stored label,
 * terms and examples (an alert or a bookmark that names it still reads as the problem it was), and the
 * size and first/last event time of the assignments stored under its id by the same model version (a
 * re-fit has just rewritten its range: then the stored row's figures stay). A cluster born and gone between
 * two checkpoints has no stored description: it takes the one the caller `known` (for a merged cluster,
 * that of the cluster it joined), else its label stays empty and readers point at `merged_into`.
 */
export async function goneClusterRows(
  client: ClickHouseClient,
  gone: readonly GoneCluster[],
  base: { model_version: number; updated_at: string },
  /** For clusters never stored: a description the caller has (a merged one's: the cluster it joined). */
  known: ReadonlyMap<string, { label: string; topTerms: string[]; examples: string[] }> = new Map(),
): Promise<object[]> {
  if (gone.length === 0) return [];
  const ids = [...new Set(gone.map((g) => g.id))];
  const described = await select<{ cluster_id: string; label: string; top_terms: string[]; examples: string[]; size: number; first_seen: string; last_seen: string }>(
    client,
    `SELECT cluster_id, label, top_terms, examples, size, toString(first_seen) AS first_seen, toString(last_seen) AS last_seen
     FROM v_clusters WHERE cluster_id IN {ids:Array(String)}`,
    { ids },
  );
  const stored = await select<{ cluster_id: string; size: number; first_seen: string; last_seen: string }>(
    client,
    `SELECT cluster_id, toUInt64(count()) AS size, toString(min(occurred_at)) AS first_seen, toString(max(occurred_at)) AS last_seen
     FROM assignments WHERE cluster_id IN {ids:Array(String)} AND model_version = {version:UInt32} GROUP BY cluster_id`,
    { ids, version: base.model_version },
  );
  const before = new Map(described.map((r) => [r.cluster_id, r]));
  const counted = new Map(stored.map((r) => [r.cluster_id, r]));
  return gone.map((g) => {
    const b = before.get(g.id);
    const k = known.get(g.id);
    const d = b ?? (k && { label: k.label, top_terms: k.topTerms, examples: k.examples });
    const c = counted.get(g.id);
    return {
      ...base,
      cluster_id: g.id,
      label: d?.label ?? '',
      top_terms: d?.top_terms ?? [],
      examples: d?.examples ?? [],
      size: c?.size ?? b?.size ?? 0,
      first_seen: c?.first_seen ?? b?.first_seen ?? base.updated_at,
      last_seen: c?.last_seen ?? b?.last_seen ?? base.updated_at,
      state: g.state,
      merged_into: g.into,
    };
  });
}

/**
 * What batch re-fits decided about clusters a live model may still hold: every cluster whose latest row says
 * merged or retired, with the cluster it ends in through later merges ('' when retired, or when its merges
 * end in a retired cluster). A live model takes these in at start (`recur rerun` runs while it is stopped).
 */
export async function goneDecisions(client: ClickHouseClient): Promise<RerunDecision[]> {
  const rows = await select<{ cluster_id: string; state: string; merged_into: string }>(
    client,
    `SELECT cluster_id, state, merged_into FROM v_clusters WHERE state IN ('merged', 'retired') ORDER BY cluster_id`,
  );
  return followMerges(rows.map((r) => ({ id: r.cluster_id, into: r.state === 'merged' ? r.merged_into : '' })));
}

/**
 * Each gone cluster with the cluster it ends in: a merge into a cluster merged or retired since is followed
 * (bounded: a cycle of bad rows ends as retired).
 */
export function followMerges(gone: readonly RerunDecision[]): RerunDecision[] {
  const next = new Map(gone.map((g) => [g.id, g.into]));
  return gone.map((g) => {
    let into = g.into;
    for (let hops = 0; into !== '' && next.has(into); hops++) into = hops < 64 ? next.get(into)! : '';
    return { id: g.id, into };
  });
}
