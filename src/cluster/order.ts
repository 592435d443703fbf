// Sorting positions by a numeric key without a comparator callback per comparison: pruning a centroid and
// picking a document's query terms run on the assignment path, where Array.prototype.sort with a closure
// was measured at several percent of the time. The order is total (ties broken by a distinct integer), so
// the result is the same whatever the algorithm: identical to the comparator sort it replaces.

/**
 * Sorts `order[0, n)` (positions into `key` and `tie`) by key descending, then tie ascending. `tie` values
 * must be distinct among the positions sorted, which makes the order total. Concrete array types keep
 * the element accesses monomorphic (a Float32Array key from one caller made every call slow).
 * With `limit`, only `order[0, limit)` is guaranteed: the first `limit` positions of the full sort, in
 * order (the rest hold the others in no particular order), which spares partitions past the limit.
 */
export function sortByKeyDesc(order: Int32Array, n: number, key: Float64Array, tie: Int32Array, limit = n): void {
  quicksort(order, 0, n - 1, key, tie, limit);
}

/** Whether position a comes before position b. */
function before(a: number, b: number, key: Float64Array, tie: Int32Array): boolean {
  const ka = key[a]!;
  const kb = key[b]!;
  return ka > kb || (ka === kb && tie[a]! < tie[b]!);
}

function quicksort(o: Int32Array, lo: number, hi: number, key: Float64Array, tie: Int32Array, limit: number): void {
  while (hi - lo > 16) {
    // Median of three as the pivot: sorted or reversed input stays O(n log n).
    const mid = (lo + hi) >>> 1;
    if (before(o[mid]!, o[lo]!, key, tie)) swap(o, mid, lo);
    if (before(o[hi]!, o[lo]!, key, tie)) swap(o, hi, lo);
    if (before(o[hi]!, o[mid]!, key, tie)) swap(o, hi, mid);
    const pivot = o[mid]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (before(o[i]!, pivot, key, tie)) i++;
      while (before(pivot, o[j]!, key, tie)) j--;
      if (i <= j) swap(o, i++, j--);
    }
    // Everything from i on comes after the first `limit`: only the left side is still needed.
    if (i >= limit) {
      hi = j;
      continue;
    }
    // Recurse into the smaller side, loop on the larger: stack depth stays O(log n).
    if (j - lo < hi - i) {
      quicksort(o, lo, j, key, tie, limit);
      lo = i;
    } else {
      quicksort(o, i, hi, key, tie, limit);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = o[i]!;
    let p = i;
    while (p > lo && before(x, o[p - 1]!, key, tie)) {
      o[p] = o[p - 1]!;
      p--;
    }
    o[p] = x;
  }
}

function swap(o: Int32Array, a: number, b: number): void {
  const x = o[a]!;
  o[a] = o[b]!;
  o[b] = x;
}
