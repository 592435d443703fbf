// Hungarian algorithm (Kuhn-Munkres with potentials, O(r²c)) for rectangular cost matrices.
// Every row of the smaller side gets a distinct column of the larger side; total cost is minimal.

/**
 * Minimum-cost assignment on a rows × cols matrix (row-major or nested arrays).
 * Returns, for each row, the assigned column or -1 when rows > cols and the row is left out.
 */
export function hungarian(cost: readonly (readonly number[])[]): number[] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0]!.length;
  if (rows === 0 || cols === 0) return new Array<number>(rows).fill(-1);
  if (rows > cols) {
    const t = Array.from({ length: cols }, (_, j) => Array.from({ length: rows }, (_, i) => cost[i]![j]!));
    const colToRow = hungarian(t);
    const out = new Array<number>(rows).fill(-1);
    colToRow.forEach((i, j) => {
      if (i >= 0) out[i] = j;
    });
    return out;
  }
  // 1-based arrays as in the classic formulation; p[j] = row matched to column j.
  const INF = Number.POSITIVE_INFINITY;
  const u = new Float64Array(rows + 1);
  const v = new Float64Array(cols + 1);
  const p = new Int32Array(cols + 1);
  const way = new Int32Array(cols + 1);
  for (let i = 1; i <= rows; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(cols + 1).fill(INF);
    const used = new Uint8Array(cols + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = INF;
      let j1 = 0;
      for (let j = 1; j <= cols; j++) {
        if (used[j]) continue;
        const cur = cost[i0 - 1]![j - 1]! - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= cols; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out = new Array<number>(rows).fill(-1);
  for (let j = 1; j <= cols; j++) if (p[j]! > 0) out[p[j]! - 1] = j - 1;
  return out;
}

/** Maximum-weight assignment: the Hungarian algorithm on negated weights. */
export function maxWeightMatching(weight: readonly (readonly number[])[]): number[] {
  return hungarian(weight.map((row) => row.map((w) => -w)));
}
