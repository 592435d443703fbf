import type { HashingVectorizer } from '../text/vectorize.js';
import type { ClusterState } from './centroid.js';

// Cluster labels by class-based TF-IDF (Grootendorst 2022, BERTopic, https://arxiv.org/abs/2203.05794):
// a term scores tf(t, c) · log(1 + A / f(t)), where tf is the share of the cluster's members holding the
// term, f its frequency over all documents and A the average cluster size; plus the most central examples.

export interface ClusterSummary {
  id: string;
  size: number;
  topTerms: string[];
  label: string;
  examples: string[];
  firstSeen: number;
  lastSeen: number;
}

export function summarize(
  clusters: readonly ClusterState[], vectorizer: HashingVectorizer, docs: number,
  opts: { terms?: number; examples?: number; liveClusters?: number } = {},
): ClusterSummary[] {
  const nTerms = opts.terms ?? 8;
  const nExamples = opts.examples ?? 3;
  // A subset (alerting on a few clusters) is labelled against the whole model's average cluster size.
  const live = opts.liveClusters ?? clusters.length;
  const avgSize = live > 0 ? Math.max(1, docs / live) : 1;
  return [...clusters]
    .sort((a, b) => b.size - a.size || a.seq - b.seq)
    .map((c) => {
      const terms = cTfIdfTerms(c, vectorizer, avgSize, nTerms);
      return {
        id: c.id,
        size: c.size,
        topTerms: terms,
        label: labelOf(terms),
        examples: [...c.examples].sort((a, b) => b.sim - a.sim || a.eventId.localeCompare(b.eventId)).slice(0, nExamples).map((e) => e.text),
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
      };
    });
}

/** A term's class-based TF-IDF: held by `count` of the cluster's `size` members and `df` documents in all. */
function cTfIdf(count: number, size: number, avgSize: number, df: number): number {
  return (count / size) * Math.log(1 + avgSize / df);
}

function cTfIdfTerms(c: ClusterState, vectorizer: HashingVectorizer, avgSize: number, n: number): string[] {
  const scored: [string, number, number][] = [];
  c.terms.forEach((t, _w, count) => {
    const name = vectorizer.termName(t);
    if (name === undefined) return;
    const f = Math.max(1, vectorizer.documentFrequency(t));
    scored.push([name, cTfIdf(count, c.size, avgSize, f), t]);
  });
  scored.sort((a, b) => b[1] - a[1] || a[2] - b[2]);
  return scored.slice(0, n).map(([name]) => name);
}

/** A mask's placeholder (<PHONE>, <EMAIL>…), alone or in a pair of words. */
const PLACEHOLDER = /<[A-Z][A-Z0-9_]*>/;

/**
 * A cluster's label: its first three top terms that are not the masking's placeholders or pairs holding one. They
 * stay top terms (a callback request holds a <PHONE>, and owner rules may match it), but a label of
 * "back <PHONE> / mail / call" names the masking, not the problem. A cluster with nothing else is labelled by them.
 */
export function labelOf(topTerms: readonly string[]): string {
  const words = topTerms.filter((t) => !PLACEHOLDER.test(t));
  return (words.length > 0 ? words : topTerms).slice(0, 3).join(' / ');
}

/**
 * The same class-based TF-IDF terms for a batch of documents already grouped (a `recur rerun` re-fit), so
 * re-fitted clusters are labelled as the live ones are, bigrams included: tf is the share of the cluster's
 * documents holding the term, f the number of documents holding it, A the average cluster size. Ties go to
 * the term seen first, so labels are deterministic.
 */
export function batchLabelTerms(docs: readonly (readonly string[])[], groups: readonly string[], n = 8): Map<string, string[]> {
  const df = new Map<string, number>();
  const perGroup = new Map<string, { size: number; tf: Map<string, number> }>();
  docs.forEach((tokens, i) => {
    const g = groups[i]!;
    let entry = perGroup.get(g);
    if (!entry) perGroup.set(g, (entry = { size: 0, tf: new Map() }));
    entry.size++;
    for (const t of new Set(tokens)) {
      df.set(t, (df.get(t) ?? 0) + 1);
      entry.tf.set(t, (entry.tf.get(t) ?? 0) + 1);
    }
  });
  const order = new Map<string, number>();
  for (const t of df.keys()) order.set(t, order.size);
  const avgSize = perGroup.size > 0 ? Math.max(1, docs.length / perGroup.size) : 1;
  const out = new Map<string, string[]>();
  for (const [g, { size, tf }] of perGroup) {
    const scored: [string, number][] = [];
    for (const [t, count] of tf) scored.push([t, cTfIdf(count, size, avgSize, df.get(t)!)]);
    scored.sort((a, b) => b[1] - a[1] || order.get(a[0])! - order.get(b[0])!);
    out.set(g, scored.slice(0, n).map(([t]) => t));
  }
  return out;
}
