// Compact distinct-customer tracking per cluster: 32-bit hashes with the last bucket each was
// seen in, bounded in size; exact below the bound, a lower bound above it.

/**
 * Prefixed to the case id of an event without a customer id: the trend gates count such a case as a customer of
 * its own (the store's queries key it the same way). A NUL, which no customer id a person typed starts with.
 */
export const ANONYMOUS_CUSTOMER = '\u0000case:';

/** The customer the gates count an event under. */
export function gateCustomer(customerId: string | undefined | null, caseId: string): string {
  return customerId ? customerId : `${ANONYMOUS_CUSTOMER}${caseId}`;
}

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
 * Record customers seen in `bucket`; beyond `cap`, the least recently seen are evicted (the
 * earliest recorded first among equals). Returns, for each of `sinces`, how many of them had not
 * been seen at or after it (each id once): customers new to a window that began then. Exact
 * while the window holds everyone seen since then; past the cap an evicted customer who comes
 * back counts again, but a customer seen often stays in the window and counts once. Eviction
 * happens once the bucket's ids are all in, so an id repeated within the bucket counts once.
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
    w.h.push(hash);
    w.t.push(bucket);
  }
  if (w.h.length > cap) evictOldest(w, w.h.length - cap);
  return fresh;
}

/** Drops the `n` least recently seen entries (the earliest recorded first among equals), in one pass. */
function evictOldest(w: CustomerWindow, n: number): void {
  // The n-th smallest last-seen time, and how many entries at exactly that time must go. Times
  // are bucket starts, so a window holds few distinct ones: walk them from the oldest up.
  let cut = -Infinity;
  let atCut = 0;
  let left = n;
  for (;;) {
    let next = Infinity;
    let count = 0;
    for (let j = 0; j < w.t.length; j++) {
      const t = w.t[j]!;
      if (t <= cut) continue;
      if (t < next) {
        next = t;
        count = 1;
      } else if (t === next) count++;
    }
    if (count === 0) break;
    cut = next;
    if (count >= left) {
      atCut = left;
      break;
    }
    left -= count;
  }
  let out = 0;
  for (let j = 0; j < w.t.length; j++) {
    const t = w.t[j]!;
    if (t < cut) continue;
    if (t === cut && atCut > 0) {
      atCut--;
      continue;
    }
    w.h[out] = w.h[j]!;
    w.t[out] = t;
    out++;
  }
  w.h.length = out;
  w.t.length = out;
}

/** Distinct customers last seen at or after `since`. */
export function distinctSince(w: CustomerWindow, since: number): number {
  let n = 0;
  for (const t of w.t) if (t >= since) n++;
  return n;
}

/** Drop entries older than `before` (keeps state small for quiet clusters), in place. */
export function pruneCustomers(w: CustomerWindow, before: number): void {
  let out = 0;
  for (let j = 0; j < w.t.length; j++) {
    const t = w.t[j]!;
    if (t < before) continue;
    if (out !== j) {
      w.h[out] = w.h[j]!;
      w.t[out] = t;
    }
    out++;
  }
  w.h.length = out;
  w.t.length = out;
}
