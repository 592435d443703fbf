import { HashingVectorizer, type VectorizerSnapshot } from '../text/vectorize.js';
import { exampleFloor, type ClusterState } from './centroid.js';
import { TermTable } from './termtable.js';
import type { OnlineClusterer, OnlineOptions, ResolvedOnlineOptions } from './online.js';
import { ThresholdTracker, type ThresholdState } from './threshold.js';

// Versioned JSON snapshot of an online clusterer: every field that influences a later decision, in its
// live iteration order, so restore-then-replay is byte-identical to never having stopped. Where it is
// stored (and the offsets beside it) is the caller's business.

export const SNAPSHOT_VERSION = 1;

interface ClusterJson {
  id: string;
  seq: number;
  slot: number;
  size: number;
  norm2: number;
  terms: ReturnType<TermTable['toJSON']>;
  firstSeen: number;
  lastSeen: number;
  examples: { text: string; eventId: string; sim: number }[];
  indexed: number[];
  nextRefresh: number;
  dirty: boolean;
}

interface SnapshotJson {
  format: 'recur.online-clusterer';
  version: number;
  options: ResolvedOnlineOptions;
  seq: number;
  events: number;
  free: number[];
  slotCount: number;
  clusters: ClusterJson[];
  index: [number, number[], number[]][];
  threshold: ThresholdState;
  vectorizer: VectorizerSnapshot;
}

export function toSnapshot(c: OnlineClusterer): string {
  const st = c.state;
  const clusters: ClusterJson[] = [];
  for (const s of st.slots) {
    if (s === undefined) continue;
    clusters.push({
      id: s.id, seq: s.seq, slot: s.slot, size: s.size, norm2: s.norm2,
      terms: s.terms.toJSON(), firstSeen: s.firstSeen, lastSeen: s.lastSeen,
      examples: s.examples.map((e) => ({ ...e })), indexed: [...s.indexed], nextRefresh: s.nextRefresh, dirty: s.dirty,
    });
  }
  const snap: SnapshotJson = {
    format: 'recur.online-clusterer', version: SNAPSHOT_VERSION, options: c.options, seq: st.seq, events: st.events,
    free: [...st.free], slotCount: st.slots.length, clusters, index: c.index.snapshot(), threshold: c.tracker.toJSON(),
    vectorizer: c.vectorizer.snapshot(),
  };
  return JSON.stringify(snap);
}

export function fromSnapshot(json: string, make: (opts: OnlineOptions, vec: HashingVectorizer) => OnlineClusterer): OnlineClusterer {
  const s = JSON.parse(json) as Partial<SnapshotJson>;
  if (s.format !== 'recur.online-clusterer') throw new RangeError('not an online clusterer snapshot');
  if (s.version !== SNAPSHOT_VERSION) throw new RangeError(`unsupported snapshot version ${String(s.version)} (expected ${SNAPSHOT_VERSION})`);
  const full = s as SnapshotJson;
  const c = make(full.options, HashingVectorizer.restore(full.vectorizer));
  const slots = new Array<ClusterState | undefined>(full.slotCount).fill(undefined);
  for (const j of full.clusters) {
    const examples = j.examples.map((e) => ({ ...e }));
    slots[j.slot] = {
      id: j.id, seq: j.seq, slot: j.slot, size: j.size, norm2: j.norm2,
      terms: TermTable.fromJSON(j.terms), firstSeen: j.firstSeen, lastSeen: j.lastSeen,
      examples, exampleFloor: exampleFloor(examples), indexed: [...j.indexed], nextRefresh: j.nextRefresh, dirty: j.dirty,
    };
  }
  c.state = { slots, free: [...full.free], live: full.clusters.length, seq: full.seq, events: full.events };
  c.index.restore(full.index);
  (c as { tracker: ThresholdTracker }).tracker = ThresholdTracker.fromJSON(full.threshold);
  return c;
}
