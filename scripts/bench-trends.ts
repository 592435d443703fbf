// Synthetic injection benchmark for src/trends: seasonal, bursty (negative-binomial) hourly
// case counts for many clusters, with injected surges of known start, length and size, run
// bucket by bucket through the alert logic. Prints recall, false episodes, detection delay and
// the time to close one bucket for 10,000 clusters with a month of history.
// Usage: tsx scripts/bench-trends.ts [--clusters 2000] [--days 60] [--seed 7] [--config JSON] [--no-timing] [--json] [--misses]
import { evaluateBucketClose, resolveTrendConfig, type ClusterBucketInput, type ClusterTrendState, type TrendEvent } from '../src/trends/index.js';
import { mulberry32 } from '../src/cluster/prng.js';
import { poisson } from '../src/trends/test-helpers.js';
import { negBinUpperTail, surprisal } from '../src/trends/stats.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 5); // a Monday

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const prng = mulberry32;

class Rng {
  private readonly u: () => number;
  constructor(seed: number) {
    this.u = prng(seed);
  }
  uniform(a = 0, b = 1): number {
    return a + (b - a) * this.u();
  }
  int(a: number, b: number): number {
    return Math.floor(this.uniform(a, b + 1));
  }
  normal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.u())) * Math.cos(2 * Math.PI * this.u());
  }
  /** Marsaglia–Tsang. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.u(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.u();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  }
  poisson(mu: number): number {
    if (mu <= 0) return 0;
    if (mu > 50) return Math.max(0, Math.round(mu + Math.sqrt(mu) * this.normal()));
    return poisson(this.u, mu);
  }
  /** Negative binomial with mean mu, var mu + phi mu^2 (gamma–Poisson). */
  negbin(mu: number, phi: number): number {
    return this.poisson(phi > 0 ? (mu * this.gamma(1 / phi)) * phi : mu);
  }
}

interface Injection {
  cluster: number;
  kind: 'surge' | 'angry';
  start: number;
  length: number;
  multiplier: number;
  baseline: number;
  detectedAt: number | null;
  /** Counts drawn from the surge's start to its end plus the quiet buckets (for the oracle bound). */
  observed: number[];
}

interface Cluster {
  id: string;
  rate: number;
  phi: number;
  daily: number[];
  weekend: number;
}

function makeClusters(rng: Rng, n: number): Cluster[] {
  return Array.from({ length: n }, (_, i) => {
    const peak = rng.uniform(10, 18);
    const raw = Array.from({ length: 24 }, (_, h) => 0.25 + Math.exp(-(((h - peak) / 3.5) ** 2)) * 1.75);
    const mean = raw.reduce((a, b) => a + b, 0) / 24;
    return {
      id: `c${i}`,
      // Mean cases per hour, log-uniform: 1 … 30.
      rate: Math.exp(rng.uniform(Math.log(1), Math.log(30))),
      phi: rng.uniform(0.02, 0.2),
      daily: raw.map((x) => x / mean),
      weekend: rng.uniform(0.4, 0.9),
    };
  });
}

function expectedAt(c: Cluster, t: number): number {
  const d = new Date(T0 + t * HOUR);
  const dow = d.getUTCDay();
  return c.rate * c.daily[d.getUTCHours()]! * (dow === 0 || dow === 6 ? c.weekend : 1);
}

function main(): void {
  const nClusters = arg('clusters', 2000);
  const days = arg('days', 60);
  const seed = arg('seed', 7);
  const json = process.argv.includes('--json');
  const rng = new Rng(seed);
  const ci = process.argv.indexOf('--config');
  const cfg = resolveTrendConfig(ci >= 0 ? JSON.parse(process.argv[ci + 1]!) : {});
  const clusters = makeClusters(rng, nClusters);
  const buckets = days * 24;
  const warm = 14 * 24;

  const injections: Injection[] = [];
  const byCluster = new Map<number, Injection[]>();
  for (let i = 0; i < nClusters; i++) {
    const list: Injection[] = [];
    if (rng.uniform() < 0.5) {
      const start = rng.int(warm, buckets - 30);
      const multiplier = Math.exp(rng.uniform(Math.log(2), Math.log(10)));
      list.push({ cluster: i, kind: 'surge', start, length: rng.int(2, 24), multiplier, baseline: expectedAt(clusters[i]!, start), detectedAt: null, observed: [] });
    }
    if (rng.uniform() < 0.1) {
      // One customer opening many cases in one hour: must not alert.
      list.push({ cluster: i, kind: 'angry', start: rng.int(warm, buckets - 30), length: 1, multiplier: rng.int(10, 20), baseline: 0, detectedAt: null, observed: [] });
    }
    injections.push(...list);
    byCluster.set(i, list);
  }

  const states = new Map<string, ClusterTrendState>();
  const falseEpisodes: TrendEvent[] = [];
  let opened = 0;
  let snapshot30: Map<string, ClusterTrendState> | null = null;
  const started = performance.now();
  for (let t = 0; t < buckets; t++) {
    const counts: ClusterBucketInput[] = [];
    for (let i = 0; i < nClusters; i++) {
      const c = clusters[i]!;
      let mu = expectedAt(c, t);
      let angry = 0;
      for (const inj of byCluster.get(i)!) {
        if (t < inj.start || t >= inj.start + inj.length) continue;
        if (inj.kind === 'surge') mu *= inj.multiplier;
        else angry = inj.multiplier;
      }
      const n = rng.negbin(mu, c.phi);
      for (const inj of byCluster.get(i)!) if (inj.kind === 'surge' && t >= inj.start && t < inj.start + inj.length + cfg.episode.quietBuckets) inj.observed.push(n);
      if (n === 0 && angry === 0) continue;
      const ids = Array.from({ length: n }, () => `u${rng.int(0, 1_000_000)}`);
      for (let k = 0; k < angry; k++) ids.push('angry-customer');
      counts.push({ clusterId: c.id, cases: n + angry, customers: new Set(ids).size, customerIds: ids });
    }
    const events = evaluateBucketClose(states, { bucket: T0 + t * HOUR, now: T0 + (t + 1) * HOUR + 60_000, counts, meta: () => ({ firstSeenAt: T0 - 90 * 86_400_000 }) }, cfg);
    for (const e of events) {
      if (e.type !== 'opened' || (e.episode.kind !== 'spike' && e.episode.kind !== 'sustained_growth')) continue;
      opened++;
      const i = Number(e.episode.clusterId.slice(1));
      const hit = byCluster.get(i)!.find((inj) => inj.kind === 'surge' && t >= inj.start && t < inj.start + inj.length + cfg.episode.quietBuckets);
      if (hit) {
        if (hit.detectedAt === null) hit.detectedAt = t;
      } else falseEpisodes.push(e);
    }
    if (t === 30 * 24 - 1) snapshot30 = structuredClone(states);
  }
  const simSeconds = (performance.now() - started) / 1000;

  const surges = injections.filter((x) => x.kind === 'surge');
  const big = surges.filter((x) => x.multiplier >= 3);
  const recall = big.filter((x) => x.detectedAt !== null).length / Math.max(big.length, 1);
  const recallAll = surges.filter((x) => x.detectedAt !== null).length / Math.max(surges.length, 1);
  const delays = big.filter((x) => x.detectedAt !== null).map((x) => x.detectedAt! - x.start).sort((a, b) => a - b);
  // Gate-feasible: in expectation the surge brings at least minExcessCases cases above baseline
  // and at least minCustomers cases in all (one case per customer here). Below that the product's
  // own customer gates forbid an alert, so such surges are counted apart, not silently dropped.
  const expectedExcess = (x: Injection): number => {
    let exc = 0;
    for (let t = x.start; t < x.start + x.length; t++) exc += (x.multiplier - 1) * expectedAt(clusters[x.cluster]!, t);
    return exc;
  };
  const feasible = big.filter((x) => {
    const exc = expectedExcess(x);
    return exc >= cfg.gates.minExcessCases && (exc * x.multiplier) / (x.multiplier - 1) >= cfg.gates.minCustomers;
  });
  const recallFeasible = feasible.filter((x) => x.detectedAt !== null).length / Math.max(feasible.length, 1);
  if (process.argv.includes('--misses')) {
    for (const x of big) {
      const c = clusters[x.cluster]!;
      process.stderr.write(
        `${x.detectedAt === null ? 'MISS' : 'HIT '} c${x.cluster} start ${x.start} len ${x.length} mult ${x.multiplier.toFixed(2)} ` +
          `base ${x.baseline.toFixed(2)} excess ${expectedExcess(x).toFixed(1)} phi ${c.phi.toFixed(2)} delay ${x.detectedAt === null ? '-' : x.detectedAt - x.start}\n`,
      );
    }
  }
  const oracle = oracleRecall(big, clusters, cfg);
  const median = delays.length ? delays[Math.floor((delays.length - 1) / 2)]! : null;
  const angry = injections.filter((x) => x.kind === 'angry');
  const angryAlerted = falseEpisodes.filter((e) => {
    const i = Number(e.episode.clusterId.slice(1));
    return byCluster.get(i)!.some((inj) => inj.kind === 'angry' && Math.abs((e.episode.startBucket - T0) / HOUR - inj.start) <= 2);
  }).length;
  // Per cluster-day on which a false spike or growth episode can open: after the detector's warm-up.
  const falsePer1000 = (1000 * falseEpisodes.length) / (nClusters * Math.max(1, days - cfg.warmupBucketsResolved / 24));
  // Recall by baseline size: a 3x surge on a cluster expecting under one case an hour is not
  // something a 3-customer gate can see within two buckets.
  const bySize = (lo: number, hi: number): number => {
    const s = big.filter((x) => x.baseline >= lo && x.baseline < hi);
    return s.length ? s.filter((x) => x.detectedAt !== null).length / s.length : NaN;
  };

  const timing = process.argv.includes('--no-timing')
    ? { timing_clusters: 0, bucket_close_ms_median: NaN, bucket_close_ms_max: NaN, bucket_close_cpu_ms_median: NaN, state_bytes_per_cluster: NaN }
    : timeBucketClose(snapshot30!, clusters, rng, cfg);
  const result = {
    clusters: nClusters,
    days,
    seed,
    surges: surges.length,
    surges_ge_3x: big.length,
    recall_ge_3x: recall,
    recall_all: recallAll,
    surges_ge_3x_gate_infeasible: big.length - feasible.length,
    recall_ge_3x_gate_feasible: recallFeasible,
    recall_ge_3x_oracle_bound: oracle,
    recall_ge_3x_by_baseline: { lt_1: bySize(0, 1), '1_to_3': bySize(1, 3), ge_3: bySize(3, Infinity) },
    median_delay_buckets: median,
    p90_delay_buckets: delays.length ? delays[Math.floor(0.9 * (delays.length - 1))]! : null,
    false_episodes: falseEpisodes.length,
    false_spike: falseEpisodes.filter((e) => e.episode.kind === 'spike').length,
    false_growth: falseEpisodes.filter((e) => e.episode.kind === 'sustained_growth').length,
    false_episodes_per_1000_cluster_days: falsePer1000,
    single_customer_bursts: angry.length,
    single_customer_bursts_alerted: angryAlerted,
    episodes_opened: opened,
    simulate_seconds: simSeconds,
    ...timing,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const f = (x: number | null, d = 3): string => (x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
  process.stdout.write(
    [
      `clusters ${nClusters} x ${days} days (seed ${seed}); ${surges.length} surges, ${big.length} >= 3x`,
      `recall (surges >= 3x):            ${f(recall)}   target >= 0.95   (all surges ${f(recallAll)})`,
      `  gate-feasible surges >= 3x:      ${f(recallFeasible)}   (${big.length - feasible.length} of ${big.length} are below the customer gates in expectation, so no alert is allowed)`,
      `  reference with the true mean and dispersion given: ${f(oracle)}   (same gates, onset known, ~the false budget: a learning detector stays below it)`,
      `  by baseline cases/h  <1: ${f(result.recall_ge_3x_by_baseline.lt_1)}  1-3: ${f(result.recall_ge_3x_by_baseline['1_to_3'])}  >=3: ${f(result.recall_ge_3x_by_baseline.ge_3)}`,
      `false episodes / 1,000 cluster-days: ${f(falsePer1000)}   target <= 1   (${falseEpisodes.length} false: ${result.false_spike} spike, ${result.false_growth} growth)`,
      `single-customer bursts alerted:    ${angryAlerted} of ${angry.length}`,
      `median detection delay (buckets):  ${f(median, 0)}   target <= 2   (p90 ${f(result.p90_delay_buckets, 0)})`,
      `bucket close, ${timing.timing_clusters} clusters w/ 30 days history: ${f(timing.bucket_close_ms_median, 1)} ms median wall ` +
        `(max ${f(timing.bucket_close_ms_max, 1)} ms; ${f(timing.bucket_close_cpu_ms_median, 1)} ms CPU)   target < 1000 ms`,
      `state ${f(timing.state_bytes_per_cluster, 0)} B/cluster as JSON`,
      `simulation ${f(simSeconds, 1)} s`,
    ].join('\n') + '\n',
  );
}

/**
 * Surprise (-log10 p) the reference detector below fires at: 1e-5 per window per bucket. With
 * its 9 windows, a detector that knew the true parameters would raise at most ~2 false episodes
 * per 1,000 cluster-days at it (fewer, as the windows overlap): about the budget.
 */
const ORACLE_SURPRISE = 5;

/**
 * An optimistic reference for recall at about the false-episode budget, with the product's
 * gates: a detector told each cluster's true expected count and dispersion, and where the surge
 * starts. At every bucket of the surge it sums the counts since the start over windows of 1..24
 * buckets (aligned on the onset, so no quiet bucket dilutes them) and fires when that sum has NB
 * surprise >= ORACLE_SURPRISE, reaches spike.minRatio x expectation and minExcessCases above it.
 * It pays no estimation cost and knows the onset, so a detector that must learn both numbers
 * stays below it.
 */
function oracleRecall(surges: Injection[], clusters: Cluster[], cfg: ReturnType<typeof resolveTrendConfig>): number {
  let hit = 0;
  for (const x of surges) {
    const c = clusters[x.cluster]!;
    let fired = false;
    for (let j = 0; j < x.observed.length && !fired; j++) {
      for (const w of [1, 2, 3, 4, 6, 8, 12, 16, 24]) {
        if (w > j + 1) break;
        let obs = 0;
        let mean = 0;
        let extra = 0;
        for (let q = j - w + 1; q <= j; q++) {
          const m = expectedAt(c, x.start + q);
          obs += x.observed[q]!;
          mean += m;
          extra += c.phi * m * m;
        }
        // The window's sum as one NB count: variance mean + sum(phi m^2).
        const surprise = surprisal(negBinUpperTail(obs, mean, extra / (mean * mean)));
        if (surprise >= ORACLE_SURPRISE && obs >= cfg.spike.minRatio * mean && obs - mean >= cfg.gates.minExcessCases) {
          fired = true;
          break;
        }
      }
    }
    if (fired) hit++;
  }
  return hit / Math.max(surges.length, 1);
}

/** 10,000 clusters with a month of history (clones of the 30-day states), one bucket close each run. */
function timeBucketClose(base: Map<string, ClusterTrendState>, clusters: Cluster[], rng: Rng, cfg: ReturnType<typeof resolveTrendConfig>) {
  const target = 10_000;
  const proto = [...base.values()];
  const runs: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let run = 0; run < 5; run++) {
    const states = new Map<string, ClusterTrendState>();
    for (let i = 0; i < target; i++) {
      // As the pipeline would: states persisted as JSON and read back.
      const s = JSON.parse(JSON.stringify(proto[i % proto.length]!)) as ClusterTrendState;
      s.clusterId = `t${i}`;
      states.set(s.clusterId, s);
    }
    if (run === 0) bytes = JSON.stringify([...states.values()]).length / target;
    const t = 30 * 24;
    const counts: ClusterBucketInput[] = [];
    for (let i = 0; i < target; i++) {
      const c = clusters[i % clusters.length]!;
      const n = rng.negbin(expectedAt(c, t), c.phi);
      if (n === 0) continue;
      const ids = Array.from({ length: n }, () => `u${rng.int(0, 1_000_000)}`);
      counts.push({ clusterId: `t${i}`, cases: n, customers: new Set(ids).size, customerIds: ids });
    }
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    evaluateBucketClose(states, { bucket: T0 + t * HOUR, now: T0 + (t + 1) * HOUR, counts }, cfg);
    cpu.push(process.cpuUsage(cpu0).user / 1000);
    runs.push(performance.now() - started);
  }
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  return {
    timing_clusters: target,
    bucket_close_ms_median: runs[2]!,
    bucket_close_ms_max: runs[4]!,
    bucket_close_cpu_ms_median: cpu[2]!,
    state_bytes_per_cluster: bytes,
  };
}

main();
