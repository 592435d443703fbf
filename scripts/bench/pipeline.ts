// npm run bench [-- --n 1000000 --workers 1,2 --json] [--topics 10000] [--cpu-prof DIR]
// End to end against a real local Kafka broker: produces N events (real customer-service text), then
// measures (1) the ceiling — a bare kafkajs consumer that only decodes and counts — and (2) the full
// pipeline — `recur run` as a child process: validate, mask, tokenise, cluster, count, write to chDB,
// commit — with 1 and 2 workers, then (3) produce-to-stored latency at 50% of the measured throughput.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { makeEventFactory } from './events.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    workers: { type: 'string', default: '1,2' },
    json: { type: 'boolean' },
    'latency-seconds': { type: 'string', default: '20' },
    /** Synthetic topics instead of Banking77 texts (e.g. 10000: memory with 10,000 live clusters). */
    topics: { type: 'string', default: '0' },
    /** Write a V8 CPU profile of every pipeline worker into this directory (open in Chrome DevTools). */
    'cpu-prof': { type: 'string' },
  },
});
const TOPICS = Number(values.topics);
const N = Number(values.n);
const WORKERS = values.workers!.split(',').map(Number);
const latencySeconds = Number(values['latency-seconds']);
if (!(latencySeconds >= 0)) throw new Error(`--latency-seconds takes a number of seconds, 0 to skip; got "${values['latency-seconds']}"`);
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const root = new URL('../../', import.meta.url).pathname;

let startedBroker = false;
let brokers = process.env['KAFKA_BROKERS'];
const kafkaEnv = { ...process.env, KAFKA_PORT: '19392', KAFKA_FAST_START: '0', RECUR_KAFKA_HOME: join(root, '.cache/kafka-bench') };
if (!brokers) {
  execFileSync('bash', [join(root, 'scripts/kafka-local.sh'), 'start'], { env: kafkaEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  startedBroker = true;
  brokers = '127.0.0.1:19392';
}
const kafka = new Kafka({ clientId: 'recur-bench', brokers: brokers.split(','), logLevel: logLevel.NOTHING });

async function createTopic(topic: string, partitions: number) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

async function produce(topic: string, n: number, ratePerSec?: number): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const make = makeEventFactory({ topics: TOPICS });
  const t0 = performance.now();
  const chunk = ratePerSec ? Math.max(1, Math.round(ratePerSec / 20)) : 5000;
  for (let i = 0; i < n; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) messages.push({ key: String(j % 1000), value: JSON.stringify(make(j, n)) });
    await producer.send({ topic, messages, acks: 1 });
    if (ratePerSec) {
      const due = t0 + ((i + chunk) / ratePerSec) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  await producer.disconnect();
  return n / ((performance.now() - t0) / 1000);
}

/** The ceiling: kafkajs alone, decoding JSON and counting, nothing else. */
async function ceiling(topic: string, n: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `ceiling-${Date.now()}`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  let t0 = 0;
  let counted0 = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) if (JSON.parse(m.value!.toString()).event_id) count++;
      // The clock starts after the first batch, so the events counted are those after it.
      if (t0 === 0) {
        t0 = performance.now();
        counted0 = count;
      }
      if (count >= n) done();
    },
  });
  await finished;
  if (n - counted0 < 0.2 * n) throw new Error(`the ceiling's first batch held ${counted0} of ${n} events: raise --n`);
  const rate = (n - counted0) / ((performance.now() - t0) / 1000);
  await consumer.disconnect();
  return rate;
}

interface Worker { child: ChildProcess; port: number; dataDir: string }

/** The allocator mmap threshold bin/recur sets (read from it, so the two cannot differ). */
const LAUNCHER_MMAP_THRESHOLD = /MALLOC_MMAP_THRESHOLD_:=(\d+)/.exec(readFileSync(join(root, 'bin/recur'), 'utf8'))![1]!;

function startWorker(topic: string, group: string, port: number, extraEnv: Record<string, string> = {}): Worker {
  const dataDir = mkdtempSync(join(tmpdir(), 'recur-bench-'));
  // Node's profiling flags are refused in NODE_OPTIONS, so the worker is started as bin/recur (the package's
  // launcher) starts it: node on bin/recur.js, with the launcher's allocator setting.
  const prof = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  const child = spawn(process.execPath, [...prof, join(root, 'bin/recur.js'), 'run', '--serve'], {
    env: {
      ...process.env,
      MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ || LAUNCHER_MMAP_THRESHOLD,
      RECUR_KAFKA_BROKERS: brokers!,
      RECUR_KAFKA_TOPIC: topic,
      RECUR_KAFKA_GROUP_ID: group,
      RECUR_KAFKA_DEAD_LETTER_TOPIC: `${topic}.dlq`,
      RECUR_KAFKA_ALERTS_TOPIC: `${topic}.alerts`,
      RECUR_CLICKHOUSE_DATA_DIR: dataDir,
      RECUR_SERVE_PORT: String(port),
      RECUR_LOG_LEVEL: 'warn',
      RECUR_ALERTS_LOG: 'false',
      ...(TOPICS > 2000 ? { RECUR_CLUSTER_MAX_CLUSTERS: String(TOPICS) } : {}),
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return { child, port, dataDir };
}

async function scrape(w: Worker): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const m = /^(\S+) (\S+)$/.exec(line);
      if (m) out[m[1]!] = Number(m[2]);
    }
    return out;
  } catch {
    return {};
  }
}

function procStats(pid: number): { cpuSeconds: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(stat[11]) + Number(stat[12]);
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: ticks / 100, peakRssMb: Math.round(Number(hwm?.[1] ?? 0) / 1024) };
}

async function stopWorkers(ws: Worker[]) {
  for (const w of ws) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => new Promise((r) => (w.child.exitCode !== null ? r(null) : w.child.on('exit', r)))));
  for (const w of ws) rmSync(w.dataDir, { recursive: true, force: true });
}

async function pipeline(topic: string, n: number, workers: number) {
  const group = `pipeline-${workers}-${Date.now()}`;
  const ws = Array.from({ length: workers }, (_, i) => startWorker(topic, group, 18500 + workers * 10 + i));
  // Everything is measured from the first poll that sees rows stored (t0) to the poll that sees all: events
  // stored, CPU used and stage time spent after t0 (start-up, group join and the first chunk are before it).
  let t0 = 0;
  let stored0 = 0;
  let cpu0 = 0;
  let first: Record<string, number>[] = [];
  let stats = ws.map(() => ({ cpuSeconds: 0, peakRssMb: 0 }));
  let last: Record<string, number>[] = [];
  let progressAt = performance.now();
  let lastStored = 0;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      last = await Promise.all(ws.map(scrape));
      const stored = last.reduce((s, m) => s + (m['recur_events_stored_total'] ?? 0), 0);
      stats = ws.map((w) => procStats(w.child.pid!));
      if (t0 === 0 && stored > 0) {
        t0 = performance.now();
        stored0 = stored;
        cpu0 = stats.reduce((s, x) => s + x.cpuSeconds, 0);
        first = last;
      }
      if (stored >= n) break;
      if (ws.some((w) => w.child.exitCode !== null)) throw new Error('a pipeline worker exited early');
      if (stored > lastStored) [lastStored, progressAt] = [stored, performance.now()];
      else if (performance.now() - progressAt > 120_000) throw new Error(`no event stored for 120 s (${stored} of ${n})`);
    }
  } catch (err) {
    await stopWorkers(ws);
    throw err;
  }
  const seconds = (performance.now() - t0) / 1000;
  const measured = n - stored0;
  if (measured < 0.2 * n) {
    await stopWorkers(ws);
    throw new Error(`only ${measured} of ${n} events were stored after the clock started: raise --n`);
  }
  const sum = (ms: Record<string, number>[], key: string) => ms.reduce((s, m) => s + (m[key] ?? 0), 0);
  const stage = (name: string) => sum(last, `recur_stage_seconds_sum{stage="${name}"}`) - sum(first, `recur_stage_seconds_sum{stage="${name}"}`);
  // Where a worker's wall time goes (summed over workers): the main thread's own stages (detect: trend
  // buckets closed after a batch; the bench's event times span 30 days whatever N), the time it waited
  // for ClickHouse to acknowledge a chunk, and the rest.
  const wall = seconds * workers;
  const process = stage('process');
  const perChunk = (name: string) =>
    Math.round((stage(name) / Math.max(1, sum(last, `recur_stage_seconds_count{stage="${name}"}`) - sum(first, `recur_stage_seconds_count{stage="${name}"}`))) * 1000) / 1000;
  const stages: Record<string, number> = {
    validate: stage('validate'),
    mask: stage('mask'),
    cluster: stage('cluster'),
    rows: process - stage('validate') - stage('mask') - stage('cluster'), // building rows, dead letters, the rest of build()
    count: stage('count'),
    detect: stage('detect'),
    model_snapshot: stage('snapshot'),
    wait_for_clickhouse: stage('store_wait'),
  };
  // Left: encoding rows for ClickHouse, garbage collection, Kafka fetch and commit, the event loop.
  stages['encode_gc_kafka_other'] = wall - Object.values(stages).reduce((a, b) => a + b, 0);
  await stopWorkers(ws);
  const cpu = stats.reduce((s, x) => s + x.cpuSeconds, 0) - cpu0;
  return {
    workers,
    events_per_second: Math.round(measured / seconds),
    cpu_seconds_per_1000: Math.round((cpu / measured) * 1000 * 1000) / 1000,
    peak_rss_mb: Math.max(...stats.map((s) => s.peakRssMb)),
    clusters: last.reduce((s, m) => s + (m['recur_clusters'] ?? 0), 0),
    /** Percent of the workers' wall time. */
    stage_share: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round((v / wall) * 1000) / 10])),
    /**
     * Mean wall time from a chunk's ledger write to its inserts' acknowledgement, encoding included (it overlaps
     * the next chunk's processing, so it includes waits for the main thread), and of its whole store step
     * (that, then trend counting, alerts and dead-letter publishing).
     */
    clickhouse_write_seconds_per_chunk: perChunk('insert'),
    store_step_seconds_per_chunk: perChunk('store'),
  };
}

async function latency(rate: number, seconds: number) {
  const topic = `bench-lat-${Date.now()}`;
  await createTopic(topic, 2);
  const w = startWorker(topic, `lat-${Date.now()}`, 18590);
  const storedAtLeast = async (k: number) => {
    for (let i = 0; i < 240; i++) {
      if (((await scrape(w))['recur_events_stored_total'] ?? 0) >= k) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    // A p99 without the slowest events would flatter: refuse to report one.
    await stopWorkers([w]);
    throw new Error(`latency stream: fewer than ${k} events stored after 60 s`);
  };
  // Warm-up: the worker has joined the group and stored a first batch before the timed stream starts, so
  // start-up (group join, model load) is not counted as latency. Its 200 events stay in the histogram,
  // under 0.1% of the stream, too few to move p99.
  const WARM = 200;
  await produce(topic, WARM);
  await storedAtLeast(WARM);
  const n = Math.round(rate * seconds);
  await produce(topic, n, rate);
  await storedAtLeast(WARM + n);
  const text = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
  await stopWorkers([w]);
  const buckets = [...text.matchAll(/^recur_produce_to_stored_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])] as const);
  const q = (p: number) => {
    const total = buckets[buckets.length - 1]?.[1] ?? 0;
    let prev: readonly [number, number] = [0, 0];
    for (const b of buckets) {
      if (b[1] >= p * total) return Number.isFinite(b[0]) ? prev[0] + (b[0] - prev[0]) * ((p * total - prev[1]) / Math.max(1, b[1] - prev[1])) : prev[0];
      prev = b;
    }
    return NaN;
  };
  return { rate_events_per_second: Math.round(rate), events: n, p50_seconds: Math.round(q(0.5) * 1000) / 1000, p99_seconds: Math.round(q(0.99) * 1000) / 1000 };
}

try {
  const topic = `bench-${Date.now()}`;
  await createTopic(topic, 2);
  log(`producing ${N} events into ${topic} (2 partitions)`);
  const produced = await produce(topic, N);
  log(`produced at ${Math.round(produced)} events/s; measuring the bare-consumer ceiling`);
  const ceil = await ceiling(topic, N);
  const runs = [];
  for (const w of WORKERS) {
    log(`full pipeline, ${w} worker(s)`);
    runs.push(await pipeline(topic, N, w));
  }
  const one = runs.find((r) => r.workers === 1) ?? runs[0]!;
  // --latency-seconds 0 skips the latency stream; it would otherwise report the warm-up's start-up latency.
  if (latencySeconds > 0) log(`latency at 50% of ${one.events_per_second} events/s`);
  const lat = latencySeconds > 0 ? await latency(one.events_per_second / 2, latencySeconds) : null;
  const result = {
    events: N,
    produce_events_per_second: Math.round(produced),
    ceiling_events_per_second: Math.round(ceil),
    pipeline: runs.map((r) => ({ ...r, ratio_to_ceiling: Math.round((r.events_per_second / ceil) * 1000) / 1000 })),
    latency_at_half_throughput: lat,
  };
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`events: ${N}\nceiling (bare kafkajs consumer, decode + count): ${result.ceiling_events_per_second} events/s\n`);
    for (const r of result.pipeline) {
      process.stdout.write(
        `pipeline, ${r.workers} worker(s): ${r.events_per_second} events/s (${Math.round(r.ratio_to_ceiling * 100)}% of ceiling), ${r.cpu_seconds_per_1000} CPU s per 1,000 events, peak RSS ${r.peak_rss_mb} MB with ${r.clusters} live clusters, share of wall time % ${JSON.stringify(r.stage_share)}, ClickHouse write ${r.clickhouse_write_seconds_per_chunk} s per chunk (store step ${r.store_step_seconds_per_chunk} s)\n`,
      );
    }
    process.stdout.write(
      lat ? `produce→stored latency at ${lat.rate_events_per_second} events/s: p50 ${lat.p50_seconds} s, p99 ${lat.p99_seconds} s\n` : 'produce→stored latency: not measured (--latency-seconds 0)\n',
    );
  }
} finally {
  if (startedBroker) execFileSync('bash', [join(root, 'scripts/kafka-local.sh'), 'stop'], { env: kafkaEnv, stdio: ['ignore', 'inherit', 'inherit'] });
}
