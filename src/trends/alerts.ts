// Per-cluster alert logic on bucket close: runs the detector, decides the four alert kinds
// (new, spike, sustained_growth, regression) behind customer gates, and drives their episodes.
import { nextBucketStart, seasonalKey } from './bucket.js';
import type { ResolvedTrendConfig } from './config.js';
import { addCustomers, createCustomerWindow, distinctSince, pruneCustomers, type CustomerWindow } from './customers.js';
import { createDetectorState, growthLlr, stepDetector, type DetectorState, type DetectorStep } from './detector.js';
import { alphaFor, negBinUpperTail, surprisal } from './stats.js';
import { advanceEpisode, openEpisode, snapshot, type AlertKind, type Episode, type EpisodeSample, type TrendEvent } from './episodes.js';

/** A cluster's way from reported to fixed (`recur status set`); fix_available and resolved are watched for a regression. */
export const CLUSTER_STATUSES = ['open', 'acknowledged', 'fix_pending', 'fix_available', 'resolved'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
const FIXED: ReadonlySet<string> = new Set<ClusterStatus>(['fix_available', 'resolved']);

/** Whether an owner status marks the cluster fixed (its regression watch runs from then). */
export function isFixedStatus(status: string): boolean {
  return FIXED.has(status);
}

/** One cluster's counts for one closed bucket. */
export interface ClusterBucketInput {
  clusterId: string;
  /** Distinct cases in the bucket. */
  cases: number;
  /** Distinct customers in the bucket. */
  customers: number;
  /** Customer ids in the bucket: makes multi-bucket customer gates exact (otherwise a lower bound). */
  customerIds?: readonly string[];
  /**
   * Case ids in the bucket (all, or a sample): a young cluster's `new` gate then counts each case once over its
   * young hours, however many buckets its messages fall in (otherwise it sums the buckets' distinct cases).
   */
  caseIds?: readonly string[];
}

export interface ClusterMeta {
  /** When the cluster was born; defaults to the first bucket it is evaluated in. */
  firstSeenAt?: number;
  status?: ClusterStatus;
  /** When the owner marked it fixed (status fix_available / resolved). */
  fixedAt?: number | null;
  /**
   * Cases per bucket before the fix, from stored counts, for a state that has not seen those buckets (a
   * restart's replay begins after a fix older than it): otherwise the state's own long-run mean is taken.
   */
  preFixRate?: number;
}

/** Serialisable per-cluster trend state. */
export interface ClusterTrendState {
  v: 1;
  clusterId: string;
  firstSeenAt: number;
  lastBucket: number | null;
  /** The last bucket with cases (null: none yet). */
  lastActive: number | null;
  detector: DetectorState;
  totalCases: number;
  /** Lower bound on distinct customers since birth (exact with ids, up to the window cap). */
  lifeCustomers: number;
  customers: CustomerWindow;
  /** Ring of the last regression.windowBuckets buckets: start, cases, customers. */
  ringB: number[];
  ringC: number[];
  ringU: number[];
  /** The current run of growth evidence (1.5x CUSUM) and of surge evidence (3x CUSUM). */
  growthRun: EvidenceRun;
  surgeRun: EvidenceRun;
  /** EWMAs of customers and cases per ordinary bucket: their ratio is customers per case. */
  custEw: number;
  caseEw: number;
  newFired: boolean;
  /**
   * While young and before `new` fired, given case ids: the distinct case ids since birth (up to YOUNG_CASES),
   * and how many distinct cases that makes (ids beyond a bucket's sample count as new). Absent otherwise.
   */
  youngCases?: { ids: string[]; count: number };
  fixedAt: number | null;
  preFixRate: number;
  episodes: Partial<Record<AlertKind, Episode>>;
  cooldownUntil: Partial<Record<AlertKind, number>>;
}

/** Cases observed and expected over a run of CUSUM evidence, since when, and its customers. */
export interface EvidenceRun {
  obs: number;
  exp: number;
  start: number;
  /** Distinct customers (each counted in the first bucket it appears in; without ids, the sum of bucket customers). */
  customers: number;
  /** The CUSUM's log-likelihood ratio (nats) over the run, computed on those customers instead of cases. */
  customerLlr: number;
}

const CUSTOMER_CAP = 128;
/** Case ids a young cluster keeps for its `new` gate (new.minCases is a handful). */
const YOUNG_CASES = 128;

/**
 * Distinct cases since birth for the `new` gate: a case whose messages fall in several buckets (a follow-up the
 * next hour) counts once, when the buckets' case ids are given; else the sum of the buckets' distinct cases.
 */
function youngCases(st: ClusterTrendState, input: ClusterBucketInput, cases: number, young: boolean): number {
  if (!countsYoungCases(st, young)) return st.totalCases;
  const ids = input.caseIds;
  if (ids === undefined) {
    // A bucket without cases (a silent one) changes nothing; counts without ids from here: the sum is what is known.
    if (cases === 0 && st.youngCases) return Math.min(st.youngCases.count, st.totalCases);
    delete st.youngCases;
    return st.totalCases;
  }
  // Begun with the cluster's first bucket that has cases (a state made before any, or one without ids, sums).
  if (!st.youngCases) {
    if (st.totalCases > cases) return st.totalCases;
    st.youngCases = { ids: [], count: 0 };
  }
  const yc = st.youngCases;
  const known = new Set(yc.ids);
  // Before `new` opens, cases beyond the ids given (a sample) and beyond the ids kept may be new: counted as new
  // (its gate). Once open, only cases it can tell are new count: an id it could not keep, or a case past the
  // sample, would count again every hour its case writes, and send the owner an update each time.
  const open = st.episodes.new !== undefined;
  let fresh = 0;
  for (const id of ids) {
    if (known.has(id)) continue;
    known.add(id);
    if (yc.ids.length < YOUNG_CASES) {
      yc.ids.push(id);
      fresh++;
    } else if (!open) fresh++;
  }
  yc.count += fresh + (open ? 0 : Math.max(0, cases - ids.length));
  return Math.min(yc.count, st.totalCases);
}

/** Whether a cluster counts its cases by id: while young, until `new` fires and while the episode it opened is open. */
function countsYoungCases(st: ClusterTrendState, young: boolean): boolean {
  return young && (!st.newFired || st.episodes.new !== undefined);
}
const MAX_GAP_BUCKETS = 24 * 14;

export function createClusterState(clusterId: string, firstSeenAt: number): ClusterTrendState {
  return {
    v: 1,
    clusterId,
    firstSeenAt,
    lastBucket: null,
    lastActive: null,
    detector: createDetectorState(),
    totalCases: 0,
    lifeCustomers: 0,
    customers: createCustomerWindow(),
    ringB: [],
    ringC: [],
    ringU: [],
    growthRun: { obs: 0, exp: 0, start: firstSeenAt, customers: 0, customerLlr: 0 },
    surgeRun: { obs: 0, exp: 0, start: firstSeenAt, customers: 0, customerLlr: 0 },
    custEw: 0,
    caseEw: 0,
    newFired: false,
    fixedAt: null,
    preFixRate: 0,
    episodes: {},
    cooldownUntil: {},
  };
}

/**
 * Fold one closed bucket into a cluster's state and return the episode events it causes.
 * Buckets at or before the last one seen are ignored (replays are idempotent); skipped
 * buckets are filled with zero counts first. `now` only stamps events.
 */
export function evaluateCluster(
  st: ClusterTrendState,
  input: ClusterBucketInput,
  meta: ClusterMeta,
  bucket: number,
  now: number,
  cfg: ResolvedTrendConfig,
): TrendEvent[] {
  if (st.lastBucket !== null && bucket <= st.lastBucket) return [];
  const events: TrendEvent[] = [];
  if (st.lastBucket !== null) {
    let b = nextBucketStart(st.lastBucket, cfg.bucket, cfg.timeZone);
    for (let i = 0; b < bucket && i < MAX_GAP_BUCKETS; i++) {
      events.push(...stepCluster(st, { clusterId: st.clusterId, cases: 0, customers: 0 }, meta, b, now, cfg));
      b = nextBucketStart(b, cfg.bucket, cfg.timeZone);
    }
  }
  events.push(...stepCluster(st, input, meta, bucket, now, cfg));
  return events;
}

function stepCluster(
  st: ClusterTrendState,
  input: ClusterBucketInput,
  meta: ClusterMeta,
  bucket: number,
  now: number,
  cfg: ResolvedTrendConfig,
  slot = seasonalKey(bucket, cfg.timeZone).slot,
): TrendEvent[] {
  const cases = Math.max(0, input.cases);
  const bucketCustomers = Math.max(0, Math.min(input.customers, cases || input.customers));
  const step = stepDetector(st.detector, slot, cases, cfg.detectorResolved);
  const freshToSpike = trackVolume(st, input, bucketCustomers, step, bucket, cfg);
  trackFix(st, meta, bucket);
  st.lastBucket = bucket;

  const events: TrendEvent[] = [];

  // new: a young cluster reaching N cases from M customers; fires once per cluster.
  const young = bucket - st.firstSeenAt < cfg.new.maxAgeHours * 3_600_000;
  const countedBefore = st.youngCases?.count ?? 0;
  const lifeCases = youngCases(st, input, cases, young);
  // This bucket's cases new to the cluster (a follow-up message on a case counted before is not one): what the
  // open episode adds. Without case ids, the bucket's distinct cases.
  const newCases = st.youngCases ? st.youngCases.count - countedBefore : cases;
  const newOpen = young && !st.newFired && lifeCases >= cfg.new.minCases && st.lifeCustomers >= cfg.new.minCustomers;
  if (newOpen) st.newFired = true;
  // It starts at the cluster's birth: it opens with every case since then (its customers are the lifetime's), and
  // nothing was expected of a problem that did not exist (the young detector's expectation is learnt from the
  // cluster's own first cases: no baseline to set them against). It grows by cases, not by messages: the same
  // cases writing again every hour used to raise it, and send the owner an update, each hour.
  advanceKind(st, events, 'new', newOpen, young && cases > 0, bucket, now, newCases, 0, lifeCases, st.lifeCustomers, st.firstSeenAt, cfg, lifeCases);
  if (!countsYoungCases(st, young)) delete st.youngCases;

  const warm = st.detector.n > cfg.warmupBucketsResolved;
  const excess = cases - step.expected;
  // spike: a surprising surge, well above expectation, from enough distinct customers: this
  // bucket alone, the last few together (a short burst), or evidence for a surgeShift rise
  // accumulated over a run. The rise must hold in distinct customers too, not only in cases,
  // over the same buckets the evidence came from.
  const pointOpen =
    step.pointSurprise >= cfg.spike.openSurprise &&
    cases >= cfg.spike.minRatio * step.expected &&
    excess >= cfg.gates.minExcessCases &&
    customerRise(st, bucketCustomers, step.expected, step.phi, cfg.spike.minRatio, cfg);
  const aggBurst = step.aggSurprise >= cfg.spike.openSurprise && step.aggRatio >= cfg.spike.minRatio && cases >= step.expected * step.aggRatio * 0.5;
  const aggOpen =
    aggBurst &&
    step.aggObserved - step.aggExpected >= cfg.gates.minExcessCases &&
    customerRise(st, windowCustomers(st, input.customerIds !== undefined, step.aggBuckets), step.aggExpected, step.aggPhi, cfg.spike.minRatio, cfg);
  const surgeOpen =
    cfg.detectorResolved.surgeShift !== null &&
    cases > step.expected &&
    step.surge >= cfg.spike.openEvidence &&
    runGate(st, st.surgeRun, cfg.spike.minRatio, cfg.spike.openEvidence, step.phi, step.surgeRun, cfg);
  // A young cluster's detector is still warming up (a week), and its `new` episode, once closed, never opens
  // again: a new problem that took off on its second day raised nothing after "new, 6 cases, closed". While it
  // warms up, a bucket that alone brings twice its whole life's cases so far (and twice `new.minCases`), from
  // enough new customers, opens a spike: a tripling in a bucket, which a cluster's own daily cycle does not make
  // of a life of days.
  const takeOff =
    !warm &&
    young &&
    st.newFired &&
    !st.episodes.new &&
    cases >= Math.max(2 * (st.totalCases - cases), 2 * cfg.new.minCases) &&
    excess >= cfg.gates.minExcessCases &&
    customerRise(st, bucketCustomers, step.expected, step.phi, cfg.spike.minRatio, cfg);
  const spikeOpen = (warm && (pointOpen || aggOpen || surgeOpen)) || takeOff;
  // Opened on this bucket (or the burst ending in it), not on a run of surge evidence.
  const onBucket = pointOpen || aggOpen || takeOff;
  const spikeCustomers = spikeInvolved(st, input.customerIds, bucketCustomers, freshToSpike, onBucket);
  // Quiet is judged on this bucket alone: the aggregated scale lags behind a subsiding burst.
  advanceKind(
    st,
    events,
    'spike',
    spikeOpen,
    step.pointSurprise >= cfg.spike.closeSurprise && excess > 0,
    bucket,
    now,
    cases,
    step.expected,
    step.surprise,
    spikeCustomers,
    onBucket ? bucket : st.surgeRun.start,
    cfg,
    // Opened on a run of surge evidence, it starts where the run did, with the run's cases and expectation.
    onBucket ? cases : st.surgeRun.obs,
    onBucket ? step.expected : st.surgeRun.exp,
  );
  // The growth evidence accumulated so far is the spike's, and so is what builds up while the
  // spike cools down: growth must build anew after that, or the tail of one surge alerts again
  // as growth the moment the cooldown ends.
  if (st.episodes.spike || bucket < (st.cooldownUntil.spike ?? -Infinity)) resetEvidence(st, bucket);

  // sustained_growth: CUSUM evidence over several buckets, none of which need be extreme.
  const growthOpen =
    warm &&
    // A spike (open or cooling down) already told the owner; growth must not re-fire it.
    !st.episodes.spike &&
    bucket >= (st.cooldownUntil.spike ?? -Infinity) &&
    cases > step.expected &&
    step.growth >= cfg.growth.openEvidence &&
    step.growthRun >= cfg.growth.minBuckets &&
    runGate(st, st.growthRun, cfg.growth.minRatio, cfg.growth.openEvidence, step.phi, step.growthRun, cfg);
  advanceKind(
    st,
    events,
    'sustained_growth',
    growthOpen,
    step.growth >= cfg.growth.closeEvidence,
    bucket,
    now,
    cases,
    step.expected,
    step.growth,
    runInvolved(st.growthRun, input.customerIds !== undefined, bucketCustomers),
    st.growthRun.start,
    cfg,
    st.growthRun.obs,
    st.growthRun.exp,
  );
  // A growth episode that subsided closes while its CUSUM may still be above zero: the run must build
  // anew, or when the cooldown ends the same run (same start, so the same episode id) opens it again.
  const last = events[events.length - 1];
  if (last && last.type === 'closed' && last.episode.kind === 'sustained_growth') {
    st.detector.cusum = 0;
    st.detector.cusumRun = 0;
    resetRun(st.growthRun, bucket);
  }

  // regression: volume returns after the owner marked the cluster fixed.
  const reg = regressionCheck(st, meta, bucket, input.customerIds !== undefined, cfg);
  // It opens with its evidence: the cases since the problem came back, from that bucket on (it said this bucket's
  // cases alone, from this bucket, beside the customers of the whole window).
  advanceKind(st, events, 'regression', reg.open, reg.open, bucket, now, cases, step.expected, reg.score, reg.customers, reg.since, cfg, reg.cases, step.expected * reg.buckets);
  return events;
}

/**
 * Drives one kind's episode for this bucket: advance the open one, or open one when wanted and out
 * of cooldown. The sample (this bucket's observed, expected, score, customers) is built only for
 * a kind with an episode open or opening: nearly every cluster in nearly every bucket has neither.
 * A module function rather than a closure in stepCluster, which runs for every cluster in every bucket.
 * An episode that starts before this bucket opens with the cases and expectation since its start
 * (`openObserved`, `openExpected`), so its counts cover the window it names.
 */
function advanceKind(
  st: ClusterTrendState,
  events: TrendEvent[],
  kind: AlertKind,
  wantOpen: boolean,
  active: boolean,
  bucket: number,
  now: number,
  cases: number,
  expected: number,
  score: number,
  customers: number,
  startBucket: number,
  cfg: ResolvedTrendConfig,
  openObserved = cases,
  openExpected = expected,
): void {
  const ep = st.episodes[kind];
  if (ep) {
    const change = advanceEpisode(ep, sampleOf(bucket, now, cases, expected, score, customers), active, cfg.episode.quietBuckets, cfg.episode.updateMinGrowth);
    if (change === 'closed') {
      delete st.episodes[kind];
      st.cooldownUntil[kind] = bucket + cfg.episode.cooldownHours * 3_600_000;
    }
    if (change) events.push({ type: change, episode: snapshot(ep) });
    return;
  }
  if (!wantOpen || bucket < (st.cooldownUntil[kind] ?? -Infinity)) return;
  const opened = openEpisode(st.clusterId, kind, startBucket, sampleOf(bucket, now, cases, expected, score, customers), openObserved, openExpected);
  st.episodes[kind] = opened;
  events.push({ type: 'opened', episode: snapshot(opened) });
}

/**
 * Distinct customers of the spike episode (open, or opening on this bucket): with ids, those over its buckets
 * (the surge run's, for one opening on a run), exact while the customer window holds them all — up to
 * CUSTOMER_CAP; past it an evicted customer who comes back would count again, so the count stops there and
 * the largest bucket's may raise it (a lower bound). Without ids, the largest bucket's.
 */
function spikeInvolved(st: ClusterTrendState, ids: readonly string[] | undefined, bucketCustomers: number, freshToSpike: number, opensOnBucket: boolean): number {
  const ep = st.episodes.spike;
  if (ids === undefined) return bucketCustomers;
  // advanceEpisode keeps the largest count it is given. Ids that are a sample of the bucket's customers say
  // nothing of whether the others were seen before in the episode.
  if (ep) return ep.customers <= CUSTOMER_CAP && ids.length >= bucketCustomers ? ep.customers + freshToSpike : bucketCustomers;
  if (opensOnBucket) return bucketCustomers;
  return runInvolved(st.surgeRun, true, bucketCustomers);
}

/** A run's distinct customers as spikeInvolved counts them: exact up to CUSTOMER_CAP, then a lower bound (without ids, the bucket's). */
function runInvolved(r: EvidenceRun, haveIds: boolean, bucketCustomers: number): number {
  if (!haveIds) return bucketCustomers;
  return r.customers <= CUSTOMER_CAP ? r.customers : Math.max(bucketCustomers, CUSTOMER_CAP);
}

/**
 * A run of evidence passes its gates when its cases reach `minRatio` x expectation and
 * minExcessCases over it, and so do its distinct customers (one customer counts once however
 * many cases they open); and the run's evidence holds in those customers as strongly as the
 * cases' CUSUM must (`evidence`, log10), or one customer's burst at the start of a run would
 * carry it through a day of ordinary buckets.
 */
function runGate(st: ClusterTrendState, r: EvidenceRun, minRatio: number, evidence: number, phi: number, buckets: number, cfg: ResolvedTrendConfig): boolean {
  return (
    r.customerLlr / Math.LN10 >= evidence &&
    r.obs >= minRatio * r.exp &&
    r.obs - r.exp >= cfg.gates.minExcessCases &&
    // The run's buckets summed as one NB count: dispersion shrinks with the run length.
    customerRise(st, r.customers, r.exp, phi / Math.max(1, buckets), minRatio, cfg)
  );
}

/**
 * The rise holds in distinct customers: against the customers `expectedCases` would bring, they
 * reach `minRatio` x, and the customers beyond them reach minCustomers and minExcessCases, and
 * are significant (NB tail >= customerSurprise): the background's own customers vary by more
 * than the few a gate asks for, so background customers cannot carry one customer's burst.
 */
function customerRise(st: ClusterTrendState, customers: number, expectedCases: number, phi: number, minRatio: number, cfg: ResolvedTrendConfig): boolean {
  const expected = customersPerCase(st) * expectedCases;
  const beyond = customers - expected;
  return (
    customers >= minRatio * expected &&
    beyond >= cfg.gates.minCustomers &&
    beyond >= cfg.gates.minExcessCases &&
    surprisal(negBinUpperTail(customers, expected, phi)) >= cfg.gates.customerSurprise
  );
}

/** Distinct customers over the last `n` buckets (with ids; else the sum of bucket customers). */
function windowCustomers(st: ClusterTrendState, haveIds: boolean, n: number): number {
  const from = Math.max(0, st.ringB.length - n);
  if (haveIds) return distinctSince(st.customers, st.ringB[from]!);
  let sum = 0;
  for (let i = from; i < st.ringU.length; i++) sum += st.ringU[i]!;
  return sum;
}

function sampleOf(bucket: number, now: number, observed: number, expected: number, score: number, customers: number): EpisodeSample {
  return { bucket, now, observed, expected, score, customers };
}

function trackVolume(
  st: ClusterTrendState,
  input: ClusterBucketInput,
  customers: number,
  step: DetectorStep,
  bucket: number,
  cfg: ResolvedTrendConfig,
): number {
  const ids = input.customerIds;
  const d = st.detector;
  st.totalCases += input.cases;
  if (input.cases > 0) st.lastActive = bucket;
  // A run restarts with its CUSUM; the bucket that starts it is its first.
  if (d.cusumRun <= 1) resetRun(st.growthRun, bucket);
  if (d.surgeRun <= 1) resetRun(st.surgeRun, bucket);
  const dc = cfg.detectorResolved;
  const inGrowth = d.cusumRun > 0;
  const inSurge = d.surgeRun > 0;
  let freshGrowth = customers;
  let freshSurge = customers;
  // Customers new to the open spike episode (spikeInvolved reads them only while one is open).
  const spikeStart = st.episodes.spike?.startBucket;
  let freshSpike = customers;
  if (ids && ids.length > 0) {
    // Ids may be a sample of the bucket's customers: the rest are new to the run as far as we know.
    const extra = Math.max(0, customers - ids.length);
    const sinces = spikeStart === undefined ? [st.growthRun.start, st.surgeRun.start] : [st.growthRun.start, st.surgeRun.start, spikeStart];
    const fresh = addCustomers(st.customers, ids, bucket, CUSTOMER_CAP, sinces);
    freshGrowth = fresh[0]! + extra;
    freshSurge = fresh[1]! + extra;
    if (spikeStart !== undefined) freshSpike = fresh[2]! + extra;
    const young = bucket - st.firstSeenAt < cfg.new.maxAgeHours * 3_600_000;
    if (young && st.lifeCustomers < CUSTOMER_CAP) st.lifeCustomers = Math.max(st.lifeCustomers, distinctSince(st.customers, st.firstSeenAt));
  } else {
    st.lifeCustomers = Math.max(st.lifeCustomers, customers);
  }
  const expCustomers = Math.max(customersPerCase(st) * step.expected, 1e-6);
  if (inGrowth) extendRun(st.growthRun, input.cases, step.expected, freshGrowth, expCustomers, step.phi, dc.cusumShift);
  if (inSurge) extendRun(st.surgeRun, input.cases, step.expected, freshSurge, expCustomers, step.phi, dc.surgeShift ?? dc.cusumShift);
  // Gates look back over the regression window (at least two days), and over a growth or surge run
  // however long it has lasted: a customer of the run's first day who is back on its third is not new to it.
  if (st.customers.t.length > 0) {
    let keepFrom = bucket - Math.max(cfg.regression.windowBuckets * cfg.bucketMs, 2 * 86_400_000);
    if (inGrowth) keepFrom = Math.min(keepFrom, st.growthRun.start);
    if (inSurge) keepFrom = Math.min(keepFrom, st.surgeRun.start);
    if (spikeStart !== undefined) keepFrom = Math.min(keepFrom, spikeStart);
    // A young cluster's `new` gate counts customers since birth, however spread over its young hours (a
    // customer of its first day was pruned by its third, so 3 customers over 60 hours never reached it).
    if (!st.newFired && bucket - st.firstSeenAt < cfg.new.maxAgeHours * 3_600_000) keepFrom = Math.min(keepFrom, st.firstSeenAt);
    pruneCustomers(st.customers, keepFrom);
  }

  const w = cfg.regression.windowBuckets;
  st.ringB.push(bucket);
  st.ringC.push(input.cases);
  st.ringU.push(customers);
  if (st.ringB.length > w) {
    st.ringB.shift();
    st.ringC.shift();
    st.ringU.shift();
  }

  // Customers per case, learnt from ordinary buckets only (as the detector winsorises its
  // baseline), so one customer's burst does not lower what the gate expects of everyone.
  if (input.cases <= step.expected + dc.clipSd * Math.sqrt(step.expected + step.phi * step.expected * step.expected)) {
    const a = Math.max(alphaFor(7 * 24 * (60 / dc.bucketMinutes)), 1 / d.n);
    st.custEw += a * (customers - st.custEw);
    st.caseEw += a * (input.cases - st.caseEw);
  }
  return freshSpike;
}

/** Distinct customers per case in ordinary buckets (1 until cases are seen). */
function customersPerCase(st: ClusterTrendState): number {
  return st.caseEw > 0 ? Math.min(1, st.custEw / st.caseEw) : 1;
}

/** One more bucket of a run: its cases and expectation, its new customers and their evidence for a `shift` rise. */
function extendRun(r: EvidenceRun, cases: number, expected: number, freshCustomers: number, expCustomers: number, phi: number, shift: number): void {
  r.obs += cases;
  r.exp += expected;
  r.customers += freshCustomers;
  r.customerLlr += growthLlr(freshCustomers, expCustomers, phi, shift);
}

function resetRun(r: EvidenceRun, bucket: number): void {
  r.obs = 0;
  r.exp = 0;
  r.start = bucket;
  r.customers = 0;
  r.customerLlr = 0;
}

function resetEvidence(st: ClusterTrendState, bucket: number): void {
  st.detector.cusum = 0;
  st.detector.cusumRun = 0;
  st.detector.surge = 0;
  st.detector.surgeRun = 0;
  resetRun(st.growthRun, bucket);
  resetRun(st.surgeRun, bucket);
}

function trackFix(st: ClusterTrendState, meta: ClusterMeta, bucket: number): void {
  // A fix counts from when it was made: a replay (restart, backfill) of the buckets before it reads today's
  // status, and taking the fix early would set the pre-fix rate from wherever the replay began.
  const made = fixMadeAt(meta);
  const fixedAt = made !== null && made <= bucket ? made : null;
  if (fixedAt !== st.fixedAt) {
    st.fixedAt = fixedAt;
    // Pre-fix rate: the detector's long-run mean per bucket when the fix was first seen, unless the caller
    // knows it from before this state's history (after a restart, the mean of post-fix buckets was taken:
    // stragglers after a fix then opened regressions, and a real return was measured against itself).
    st.preFixRate = fixedAt !== null && meta.preFixRate !== undefined ? meta.preFixRate : st.detector.mean;
    delete st.cooldownUntil.regression;
  }
}

/** When the owner marked the cluster fixed, if its status says it is (fix_available, resolved). */
function fixMadeAt(meta: ClusterMeta): number | null {
  return meta.status && FIXED.has(meta.status) && meta.fixedAt != null ? meta.fixedAt : null;
}

/**
 * Whether a cluster's state can be dropped: no case since `before`, nothing open or cooling down, and no fix
 * still being watched for a regression. What a restart would not rebuild either (it reads back
 * trends.rebuildDays); a cluster that comes back starts afresh, with its birth from the model.
 */
export function dormant(st: ClusterTrendState, before: number, bucket: number, cfg: ResolvedTrendConfig, meta: ClusterMeta): boolean {
  if (st.lastActive !== null && st.lastActive >= before) return false;
  if (Object.keys(st.episodes).length > 0) return false;
  for (const until of Object.values(st.cooldownUntil)) if (until !== undefined && until > bucket) return false;
  // A fix is watched from when it was made; one made after the bucket being evaluated (a backfill of older
  // data) is still to come, and the pre-fix rate it will take is this state's.
  const fixedAt = fixMadeAt(meta) ?? st.fixedAt;
  return fixedAt === null || bucket >= fixedAt + cfg.regression.watchDays * 86_400_000;
}

const NO_REGRESSION = Object.freeze({ open: false, score: 0, customers: 0, cases: 0, since: 0, buckets: 0 });

function regressionCheck(
  st: ClusterTrendState,
  meta: ClusterMeta,
  bucket: number,
  haveIds: boolean,
  cfg: ResolvedTrendConfig,
): { open: boolean; score: number; customers: number; cases: number; since: number; buckets: number } {
  const r = cfg.regression;
  if (st.fixedAt === null) return NO_REGRESSION;
  const watchStart = st.fixedAt + r.graceHours * 3_600_000;
  if (bucket < watchStart || bucket >= st.fixedAt + r.watchDays * 86_400_000) return NO_REGRESSION;
  let cases = 0;
  let maxCustomers = 0;
  let since = Infinity;
  let buckets = 0;
  for (let i = 0; i < st.ringB.length; i++) {
    if (st.ringB[i]! < watchStart) continue;
    cases += st.ringC[i]!;
    maxCustomers = Math.max(maxCustomers, st.ringU[i]!);
    // The window starts at the first bucket the problem came back in.
    if (since === Infinity && st.ringC[i]! > 0) since = st.ringB[i]!;
    if (since !== Infinity) buckets++;
  }
  const customers = haveIds && since !== Infinity ? distinctSince(st.customers, since) : maxCustomers;
  const preFix = st.preFixRate * r.windowBuckets;
  const need = Math.max(r.minCases, r.fractionOfPreFix * preFix);
  const open = cases >= need && customers >= r.minCustomers && meta.status !== undefined && FIXED.has(meta.status);
  return { open, score: preFix > 0 ? cases / preFix : cases, customers, cases, since: since === Infinity ? bucket : since, buckets: Math.max(1, buckets) };
}
