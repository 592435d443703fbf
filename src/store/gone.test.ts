import { describe, expect, it } from 'vitest';
import { goneClusters } from './gone.js';

describe('goneClusters', () => {
  it("takes a merge's sources but its survivor, and a retired cluster, out of the live model; splits and new ones take none", () => {
    expect(
      goneClusters([
        { kind: 'merge', from: ['c_1', 'c_2', 'c_3'], to: ['c_1'] },
        { kind: 'merge', from: ['c_4'], to: ['c_9'] }, // a re-fit's survivor may be a new id
        { kind: 'retired', from: ['c_5'], to: [] },
        { kind: 'split', from: ['c_6'], to: ['c_6', 'c_10'] },
        { kind: 'new', from: [], to: ['c_11'] },
      ]),
    ).toEqual([
      { id: 'c_2', state: 'merged', into: 'c_1' },
      { id: 'c_3', state: 'merged', into: 'c_1' },
      { id: 'c_4', state: 'merged', into: 'c_9' },
      { id: 'c_5', state: 'retired', into: '' },
    ]);
  });
});
