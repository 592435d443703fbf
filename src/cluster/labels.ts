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
        label: terms.slice(0, 3).join(' / '),
        examples: [...c.examples].sort((a, b) => b.sim - a.sim || a.eventId.localeCompare(b.eventId)).slice(0, nExamples).map((e) => e.text),
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
      };
    });
}

function cTfIdfTerms(c: ClusterState, vectorizer: HashingVectorizer, avgSize: number, n: number): string[] {
  const scored: [string, number, number][] = [];
  c.terms.forEach((t, _w, count) => {
    const name = vectorizer.termName(t);
    if (name === undefined) return;
    const f = Math.max(1, vectorizer.documentFrequency(t));
    scored.push([name, (count / c.size) * Math.log(1 + avgSize / f), t]);
  });
  scored.sort((a, b) => b[1] - a[1] || a[2] - b[2]);
  return scored.slice(0, n).map(([name]) => name);
}
