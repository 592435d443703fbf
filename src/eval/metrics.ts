import { maxWeightMatching } from '../cluster/hungarian.js';

// External clustering scores against reference labels: NMI (arithmetic-mean normalisation, scikit-learn's
// default), adjusted Rand index (Hubert & Arabie 1985) and Hungarian-matched accuracy.

export { hungarian, maxWeightMatching } from '../cluster/hungarian.js';

interface Contingency {
  table: number[][];
  rowSums: number[];
  colSums: number[];
  n: number;
}

function contingency(truth: readonly (string | number)[], pred: readonly (string | number)[]): Contingency {
  if (truth.length !== pred.length) throw new RangeError(`label arrays differ in length: ${truth.length} vs ${pred.length}`);
  const ti = new Map<string | number, number>();
  const pi = new Map<string | number, number>();
  for (const t of truth) if (!ti.has(t)) ti.set(t, ti.size);
  for (const p of pred) if (!pi.has(p)) pi.set(p, pi.size);
  const table = Array.from({ length: ti.size }, () => new Array<number>(pi.size).fill(0));
  const rowSums = new Array<number>(ti.size).fill(0);
  const colSums = new Array<number>(pi.size).fill(0);
  for (let i = 0; i < truth.length; i++) {
    const r = ti.get(truth[i]!)!;
    const c = pi.get(pred[i]!)!;
    table[r]![c]!++;
    rowSums[r]!++;
    colSums[c]!++;
  }
  return { table, rowSums, colSums, n: truth.length };
}

function entropy(counts: readonly number[], n: number): number {
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / n) * Math.log(c / n);
  return h;
}

/** Normalised mutual information, MI / mean(H(truth), H(pred)). 1 when both labelings are one cluster. */
export function nmi(truth: readonly (string | number)[], pred: readonly (string | number)[]): number {
  const { table, rowSums, colSums, n } = contingency(truth, pred);
  if (n === 0) return 1;
  const ht = entropy(rowSums, n);
  const hp = entropy(colSums, n);
  if (ht === 0 && hp === 0) return 1;
  let mi = 0;
  for (let r = 0; r < table.length; r++) {
    for (let c = 0; c < colSums.length; c++) {
      const nij = table[r]![c]!;
      if (nij > 0) mi += (nij / n) * Math.log((n * nij) / (rowSums[r]! * colSums[c]!));
    }
  }
  const denom = (ht + hp) / 2;
  return denom <= 0 ? 0 : Math.max(0, Math.min(1, mi / denom));
}

const comb2 = (x: number): number => (x * (x - 1)) / 2;

/** Adjusted Rand index: 1 for identical partitions, about 0 for independent ones. */
export function ari(truth: readonly (string | number)[], pred: readonly (string | number)[]): number {
  const { table, rowSums, colSums, n } = contingency(truth, pred);
  let index = 0;
  for (const row of table) for (const x of row) index += comb2(x);
  const a = rowSums.reduce((s, x) => s + comb2(x), 0);
  const b = colSums.reduce((s, x) => s + comb2(x), 0);
  const expected = (a * b) / comb2(n);
  const max = (a + b) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

/** Share of items whose predicted cluster maps to their label under the best one-to-one mapping. */
export function hungarianAccuracy(truth: readonly (string | number)[], pred: readonly (string | number)[]): number {
  const { table, n } = contingency(truth, pred);
  if (n === 0) return 1;
  const match = maxWeightMatching(table);
  let hit = 0;
  match.forEach((c, r) => {
    if (c >= 0) hit += table[r]![c]!;
  });
  return hit / n;
}
