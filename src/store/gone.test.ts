import { describe, expect, it } from 'vitest';
import { followMerges, goneClusters } from './gone.js';

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

describe('followMerges', () => {
  it('names the cluster each gone one ends in, through later merges and into retirements, and ends a cycle as retired', () => {
    expect(
      followMerges([
        { id: 'c_1', into: 'c_2' }, // merged into c_2, which a later re-fit merged into c_v3_0
        { id: 'c_2', into: 'c_v3_0' },
        { id: 'c_4', into: 'c_5' }, // merged into c_5, retired since
        { id: 'c_5', into: '' },
        { id: 'c_6', into: 'c_7' }, // bad rows: a cycle
        { id: 'c_7', into: 'c_6' },
        { id: 'c_8', into: 'c_9' }, // c_9 is live
      ]),
    ).toEqual([
      { id: 'c_1', into: 'c_v3_0' },
      { id: 'c_2', into: 'c_v3_0' },
      { id: 'c_4', into: '' },
      { id: 'c_5', into: '' },
      { id: 'c_6', into: '' },
      { id: 'c_7', into: '' },
      { id: 'c_8', into: 'c_9' },
    ]);
  });
});
