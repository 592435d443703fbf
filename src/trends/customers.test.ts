import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../cluster/prng.js';
import { addCustomers, createCustomerWindow, distinctSince, hashCustomer, pruneCustomers, type CustomerWindow } from './customers.js';

const H = 3_600_000;

/** The window's contract spelled out slowly: refresh or append each id, then drop the least recently seen (earliest recorded first). */
function reference(w: CustomerWindow, ids: string[], bucket: number, cap: number): CustomerWindow {
  const h = [...w.h];
  const t = [...w.t];
  for (const id of ids) {
    const i = h.indexOf(hashCustomer(id));
    if (i >= 0) t[i] = bucket;
    else {
      h.push(hashCustomer(id));
      t.push(bucket);
    }
  }
  const order = h.map((_, i) => i).sort((a, b) => t[a]! - t[b]! || a - b);
  const drop = new Set(order.slice(0, Math.max(0, h.length - cap)));
  return { h: h.filter((_, i) => !drop.has(i)), t: t.filter((_, i) => !drop.has(i)) };
}

describe('customer window', () => {
  it('counts customers new since each start once, however often they write', () => {
    const w = createCustomerWindow();
    addCustomers(w, ['a', 'b'], 0, 128);
    const fresh = addCustomers(w, ['b', 'c', 'c', 'd'], 2 * H, 128, [H, 0]);
    // Since 1h: b was last seen at 0, so b, c and d are new; since ever, only c and d.
    expect(fresh).toEqual([3, 2]);
    expect(distinctSince(w, 2 * H)).toBe(3);
    expect(distinctSince(w, 0)).toBe(4);
  });

  it('evicts the least recently seen beyond the cap, and keeps a customer who keeps writing', () => {
    const w = createCustomerWindow();
    addCustomers(w, ['loyal', 'x1', 'x2'], 0, 4);
    addCustomers(w, ['loyal', 'y1'], H, 4);
    addCustomers(w, ['z1', 'z2'], 2 * H, 4);
    // x1 and x2 (last seen at 0) went; loyal, refreshed at 1h, stayed.
    expect(w.h).toEqual(['loyal', 'y1', 'z1', 'z2'].map(hashCustomer));
    expect(addCustomers(w, ['loyal', 'x1'], 3 * H, 4, [0])).toEqual([1]);
  });

  it('matches the spelled-out contract on random traffic at and past the cap', () => {
    const u = mulberry32(11);
    const w = createCustomerWindow();
    for (let b = 0; b < 400; b++) {
      const ids = Array.from({ length: Math.floor(u() * 40) }, () => `c${Math.floor(u() * 300)}`);
      const want = reference(w, ids, b * H, 64);
      addCustomers(w, ids, b * H, 64);
      expect(w).toEqual(want);
      if (b % 7 === 0) {
        pruneCustomers(w, (b - 10) * H);
        expect(Math.min(...w.t)).toBeGreaterThanOrEqual((b - 10) * H);
      }
    }
  });

  it('prunes entries older than the cut in place, keeping the order of the rest', () => {
    const w: CustomerWindow = { h: [1, 2, 3, 4], t: [5, 1, 6, 2] };
    pruneCustomers(w, 3);
    expect(w).toEqual({ h: [1, 3], t: [5, 6] });
  });
});
