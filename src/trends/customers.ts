// Compact distinct-customer tracking per cluster: 32-bit hashes with the last bucket each was
// seen in, bounded in size; exact below the bound, a lower bound above it.

export interface CustomerWindow {
  /** FNV-1a hashes of customer ids. */
  h: number[];
  /** Bucket start (ms) each hash was last seen in, parallel to `h`. */
  t: number[];
}

export function createCustomerWindow(): CustomerWindow {
  return { h: [], t: [] };
}

export function hashCustomer(id: string): number {
  let x = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    x ^= id.charCodeAt(i);
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

/**
 * Record customers seen in `bucket`; evicts the least recently seen beyond `cap`. Returns, for
 * each of `sinces`, how many of them had not been seen at or after it (each id once): customers
 * new to a window that began then. Exact while the window holds everyone seen since then; past
 * the cap an evicted customer who comes back counts again, but a customer seen often stays in
 * the window and counts once.
 */
export function addCustomers(w: CustomerWindow, ids: readonly string[], bucket: number, cap: number, sinces: readonly number[] = []): number[] {
  const fresh = sinces.map(() => 0);
  for (const id of ids) {
    const hash = hashCustomer(id);
    const i = w.h.indexOf(hash);
    const seen = i >= 0 ? w.t[i]! : -Infinity;
    for (let k = 0; k < sinces.length; k++) if (seen < sinces[k]!) fresh[k]! += 1;
    if (i >= 0) {
      w.t[i] = bucket;
      continue;
    }
    if (w.h.length >= cap) {
      let oldest = 0;
      for (let j = 1; j < w.t.length; j++) if (w.t[j]! < w.t[oldest]!) oldest = j;
      w.h.splice(oldest, 1);
      w.t.splice(oldest, 1);
    }
    w.h.push(hash);
    w.t.push(bucket);
  }
  return fresh;
}

/** Distinct customers last seen at or after `since`. */
export function distinctSince(w: CustomerWindow, since: number): number {
  let n = 0;
  for (const t of w.t) if (t >= since) n++;
  return n;
}

/** Drop entries older than `before` (keeps state small for quiet clusters). */
export function pruneCustomers(w: CustomerWindow, before: number): void {
  let oldest = Infinity;
  for (const t of w.t) if (t < oldest) oldest = t;
  if (oldest >= before) return;
  const keep = w.t.map((t, i) => (t >= before ? i : -1)).filter((i) => i >= 0);
  w.h = keep.map((i) => w.h[i]!);
  w.t = keep.map((i) => w.t[i]!);
}
