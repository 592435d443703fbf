import { fitTransform, sparseDot, type SparseVector } from '../text/vectorize.js';
import { nonEmpty, refitBatch, sparseCentroids } from './batch.js';
import { matchClusters, type ExistingCluster, type LineageRecord } from './identity.js';
import { batchLabelTerms } from './labels.js';
import { semanticBatch } from './semantic.js';

// Re-clustering a date range (operators' `recur rerun`): batch re-fit of the range's descriptions,
// existing ids kept where a new cluster matches one (centroid cosine, one-to-one), lineage for the rest.

export interface RerunDoc {
  eventId: string;
  /** Cluster the event is assigned to now ('' when unassigned). */
  current: string;
  tokens: readonly string[];
  /** Tokens for labels (the live clusterer's, with bigrams); without them a cluster's top centroid terms label it. */
  labelTokens?: readonly string[];
}

export interface RerunPlan {
  /** New cluster id per input doc, in input order. */
  assignments: string[];
  /** Cosine of each doc to its new cluster's centroid. */
  similarities: number[];
  clusters: { id: string; size: number; topTerms: string[] }[];
  lineage: LineageRecord[];
  k: number;
  /** Docs whose cluster changed. */
  moved: number;
  before: number;
}

export interface RerunOptions {
  k: number | 'auto';
  seed?: number;
  /** Prefix of ids born in this re-fit, so they never collide with the online model's. */
  idPrefix: string;
  floor?: number;
  /** Sentence embeddings per doc: cluster by meaning; ids are still matched on TF-IDF centroids. */
  dense?: readonly Float32Array[];
}

/**
 * A description with no terms (stop words, emoji, punctuation) stays unassigned ('' , similarity 0), as the live
 * model leaves it: in the fit its zero vector scored 0 against every centroid and joined whichever cluster came
 * first, so a re-run gave an unrelated problem every "ok" and "👍" of the range.
 */
export function planRerun(docs: readonly RerunDoc[], opts: RerunOptions): RerunPlan {
  const all = fitTransform(docs.map((d) => d.tokens));
  const termed = docs.map((_, i) => i).filter((i) => all.vectors[i]!.idx.length > 0);
  if (termed.length === docs.length) return planTermed(docs, opts, all);
  const before = new Set(docs.map((d) => d.current).filter((c) => c !== '')).size;
  const plan: RerunPlan =
    termed.length > 0
      ? planTermed(
          termed.map((i) => docs[i]!),
          opts.dense ? { ...opts, dense: termed.map((i) => opts.dense![i]!) } : opts,
        )
      : { assignments: [], similarities: [], clusters: [], lineage: [], k: 0, moved: 0, before };
  const assignments = new Array<string>(docs.length).fill('');
  const similarities = new Array<number>(docs.length).fill(0);
  termed.forEach((i, j) => {
    assignments[i] = plan.assignments[j]!;
    similarities[i] = plan.similarities[j]!;
  });
  const moved = assignments.filter((id, i) => id !== docs[i]!.current).length;
  // A current cluster none of whose events has terms keeps none of them: it is retired, or it would stay listed live
  // with no events (a range the code before this re-fit put in a cluster of its own, re-run to repair it).
  const kept = new Set(termed.map((i) => docs[i]!.current));
  const emptied = [...new Set(docs.map((d) => d.current))].filter((c) => c !== '' && !kept.has(c)).sort();
  const lineage = [...plan.lineage, ...emptied.map((id): LineageRecord => ({ kind: 'retired', from: [id], to: [] }))];
  return { ...plan, assignments, similarities, moved, before, lineage };
}

function planTermed(docs: readonly RerunDoc[], opts: RerunOptions, fitted = fitTransform(docs.map((d) => d.tokens))): RerunPlan {
  const { vectorizer, vectors } = fitted;
  // Existing clusters, described in the same vector space as the re-fit: the mean of their members.
  const currentIds = [...new Set(docs.map((d) => d.current).filter((c) => c !== ''))].sort();
  const index = new Map(currentIds.map((id, i) => [id, i]));
  const withCurrent = docs.map((d, i) => [i, index.get(d.current)] as const).filter(([, c]) => c !== undefined);
  const existingCentroids = sparseCentroids(
    withCurrent.map(([i]) => vectors[i]!),
    Int32Array.from(withCurrent, ([, c]) => c!),
    currentIds.length,
    200,
  );
  const existing = currentIds.map((id, i) => ({ id, centroid: existingCentroids[i]! }));
  const matchOpts = { nextSeq: 0, idPrefix: opts.idPrefix, ...(opts.floor === undefined ? {} : { floor: opts.floor }) };
  const fit = opts.dense ? denseFit(vectors, opts.dense, existing, opts, matchOpts) : refitBatch(vectors, { k: opts.k, seed: opts.seed ?? 1, existing, ...matchOpts });
  const centroidOf = new Map(fit.clusters.map((c) => [c.id, c.centroid]));
  const similarities = fit.assignments.map((id, i) => Math.round(sparseDot(vectors[i]!, centroidOf.get(id)!) * 1e4) / 1e4);
  let moved = 0;
  fit.assignments.forEach((id, i) => {
    if (id !== docs[i]!.current) moved++;
  });
  const labelled = docs.every((d) => d.labelTokens !== undefined)
    ? batchLabelTerms(docs.map((d) => d.labelTokens!), fit.assignments)
    : undefined;
  const clusters = fit.clusters.map((c) => {
    const terms = labelled?.get(c.id);
    if (terms) return { id: c.id, size: c.size, topTerms: terms };
    const order = Array.from(c.centroid.idx.keys()).sort((a, b) => c.centroid.val[b]! - c.centroid.val[a]!);
    const topTerms = order
      .map((j) => vectorizer.termName(c.centroid.idx[j]!))
      .filter((t): t is string => t !== undefined)
      .slice(0, 8);
    return { id: c.id, size: c.size, topTerms };
  });
  return { assignments: fit.assignments, similarities, clusters, lineage: fit.lineage, k: fit.k, moved, before: currentIds.length };
}

/** Clusters by embeddings, then describes each cluster by its TF-IDF centroid for identity matching. */
function denseFit(
  vectors: SparseVector[],
  dense: readonly Float32Array[],
  existing: ExistingCluster[],
  opts: RerunOptions,
  matchOpts: { nextSeq: number; idPrefix: string; floor?: number },
) {
  const { labels, k } = semanticBatch(dense, { k: opts.k, seed: opts.seed ?? 1 });
  const centroids = sparseCentroids(vectors, labels, k, 200);
  const sizes = new Array<number>(k).fill(0);
  for (const l of labels) sizes[l]!++;
  const made = nonEmpty(centroids, sizes);
  const match = matchClusters(existing, made.map((i) => centroids[i]!), matchOpts);
  const idOf = new Map(made.map((i, j) => [i, match.ids[j]!]));
  return {
    assignments: Array.from(labels, (l) => idOf.get(l)!),
    clusters: made.map((i, j) => ({ id: match.ids[j]!, size: sizes[i]!, centroid: centroids[i]! })),
    lineage: match.lineage,
    k: made.length,
  };
}
