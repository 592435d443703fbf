import { sparseDot, type SparseVector } from '../text/vectorize.js';
import { maxWeightMatching } from './hungarian.js';

// Identity across a re-fit: new clusters take the ids of the existing clusters they match one-to-one
// (Hungarian on centroid cosine, pairs below a floor do not count); what is left over is explained as
// splits, merges, new clusters and retired ones, so ids survive and lineage says what changed.

export interface ExistingCluster {
  id: string;
  centroid: SparseVector;
}

export type LineageKind = 'split' | 'merge' | 'new' | 'retired';

export interface LineageRecord {
  kind: LineageKind;
  from: string[];
  to: string[];
}

export interface MatchOptions {
  /** Minimum centroid cosine for two clusters to be the same, or parent and child. Default 0.5. */
  floor?: number;
  /** Next sequence number for fresh ids (`idPrefix` + seq). */
  nextSeq: number;
  idPrefix?: string;
}

export interface MatchResult {
  /** Id per new cluster, in input order. */
  ids: string[];
  lineage: LineageRecord[];
  nextSeq: number;
}

export function matchClusters(existing: readonly ExistingCluster[], next: readonly SparseVector[], opts: MatchOptions): MatchResult {
  const floor = opts.floor ?? 0.5;
  const prefix = opts.idPrefix ?? 'c_';
  let seq = opts.nextSeq;
  const sim = existing.map((e) => next.map((c) => sparseDot(e.centroid, c)));
  // Pairs under the floor weigh nothing, so the matching never trades a real pair for a spurious one.
  const pairs = maxWeightMatching(sim.map((row) => row.map((s) => (s >= floor ? s : 0))));
  const ids = new Array<string | undefined>(next.length).fill(undefined);
  const oldMatched = new Array<boolean>(existing.length).fill(false);
  pairs.forEach((j, i) => {
    if (j >= 0 && sim[i]![j]! >= floor) {
      ids[j] = existing[i]!.id;
      oldMatched[i] = true;
    }
  });
  const lineage: LineageRecord[] = [];
  const splits = new Map<number, string[]>();
  for (let j = 0; j < next.length; j++) {
    if (ids[j] !== undefined) continue;
    const id = `${prefix}${seq++}`;
    ids[j] = id;
    const parent = argmax(existing.map((_, i) => sim[i]![j]!));
    if (parent >= 0 && sim[parent]![j]! >= floor) splits.set(parent, [...(splits.get(parent) ?? []), id]);
    else lineage.push({ kind: 'new', from: [], to: [id] });
  }
  for (const [parent, children] of [...splits].sort((a, b) => a[0] - b[0])) {
    const keep = oldMatched[parent] ? [existing[parent]!.id] : [];
    lineage.push({ kind: 'split', from: [existing[parent]!.id], to: [...keep, ...children] });
  }
  const merges = new Map<number, string[]>();
  existing.forEach((e, i) => {
    if (oldMatched[i]) return;
    if (splits.has(i)) return;
    const child = argmax(sim[i]!);
    if (child >= 0 && sim[i]![child]! >= floor) merges.set(child, [...(merges.get(child) ?? []), e.id]);
    else lineage.push({ kind: 'retired', from: [e.id], to: [] });
  });
  for (const [child, parents] of [...merges].sort((a, b) => a[0] - b[0])) {
    const survivor = ids[child]!;
    const from = existing.some((e) => e.id === survivor) ? [survivor, ...parents] : parents;
    lineage.push({ kind: 'merge', from, to: [survivor] });
  }
  return { ids: ids as string[], lineage, nextSeq: seq };
}

function argmax(xs: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < xs.length; i++) if (best < 0 || xs[i]! > xs[best]!) best = i;
  return best;
}
