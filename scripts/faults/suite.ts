// The fault suite of "Nothing lost, nothing counted twice": real broker, real consumers (`recur run`),
// real chDB, faults injected, and an oracle comparing the store with what was produced.
//
//   npx tsx scripts/faults/suite.ts [--mode quick|long] [--json] [--seed N] [--only a,b]
//
// Uses KAFKA_BROKERS if set; otherwise starts its own broker on 127.0.0.1:19093 (state in
// .cache/kafka-faults) and stops it at the end. Exit 1 if any scenario loses, duplicates or drifts,
// dead-letters imprecisely, or if the negative control finds no duplicates.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBroker, kafka, kafkaLocal, type BrokerHandle } from './kafka.js';
import { Mutex, type Result, type Shared } from './harness.js';
import { brokerKill, crashWindows, freeze, killNine, sigterm, writeFailures, type Mode } from './scenarios.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'quick' },
    json: { type: 'boolean', default: false },
    seed: { type: 'string', default: '20261105' },
    only: { type: 'string' },
  },
});
const mode = values.mode as Mode;
if (mode !== 'quick' && mode !== 'long') {
  process.stderr.write('usage: suite.ts [--mode quick|long] [--json] [--seed N] [--only kill9,crash,broker,writes,freeze,sigterm,negative]\n');
  process.exit(2);
}
const only = values.only ? new Set(values.only.split(',')) : null;
const want = (k: string) => !only || only.has(k);

async function main(): Promise<number> {
  const started = Date.now();
  const seed = Number(values.seed);
  const runDir = resolve('.cache/faults', `${new Date().toISOString().replace(/[:.]/g, '')}-${mode}`);
  mkdirSync(runDir, { recursive: true });
  process.stderr.write(`fault suite (${mode}, seed ${seed}): logs and stores in ${runDir}\n`);
  const broker = await ensureBroker(Number(process.env['FAULTS_KAFKA_PORT'] ?? 19093), resolve('.cache/kafka-faults'));
  const k = kafka(broker);
  const admin = k.admin();
  const producer = k.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  const sh: Shared = { broker, admin, producer, runDir, seed, storeLock: new Mutex() };
  const results: Result[] = [];
  try {
    // Phase 1: faults confined to one consumer group each run side by side (2 cores: three lanes).
    const killRuns = mode === 'quick' ? 50 : 200;
    // Four lanes; the kill -9 lanes are the busiest, so the lighter scenarios follow them.
    const lanes: Promise<Result[]>[] = [
      seq([want('kill9') && (() => killNine(sh, mode, 1, Math.ceil(killRuns / 2))), want('negative') && (() => crashWindows(sh, mode, true))]),
      seq([want('kill9') && (() => killNine(sh, mode, 2, Math.floor(killRuns / 2))), want('writes') && (() => writeFailures(sh, mode)), want('sigterm') && (() => sigterm(sh, mode))]),
      seq([want('crash') && (() => crashWindows(sh, mode))]),
      seq([want('freeze') && (() => freeze(sh, mode))]),
    ];
    for (const r of await Promise.all(lanes)) results.push(...r);
    // Phase 2: the broker crash hits every client of the broker, so it runs alone.
    if (want('broker')) results.push(...(await seq([() => brokerKill(sh, mode)])));
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await stopBroker(broker);
  }
  const merged = mergeKillLanes(results);
  const seconds = Math.round((Date.now() - started) / 1000);
  const failed = merged.filter((r) => r.failures.length > 0);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ mode, seed, seconds, ok: failed.length === 0, scenarios: merged }, null, 2)}\n`);
  } else {
    process.stdout.write(`${table(merged)}\n\n${mode} mode, seed ${seed}, ${seconds} s. ${failed.length ? `FAILED: ${failed.map((r) => r.scenario).join(', ')}` : 'All guarantees held; the negative control caught its duplicates.'}\n`);
    for (const r of merged) {
      for (const f of r.failures) process.stdout.write(`- ${r.scenario}: FAIL ${f}\n`);
      for (const n of r.notes) process.stdout.write(`- ${r.scenario}: ${n}\n`);
    }
  }
  return failed.length ? 1 : 0;
}

/** Runs scenarios one after another; one that throws becomes a failed row instead of ending the suite. */
async function seq(steps: (false | (() => Promise<Result>))[]): Promise<Result[]> {
  const out: Result[] = [];
  for (const step of steps) {
    if (!step) continue;
    try {
      out.push(await step());
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      // Where it was thrown, for the next time: the table only has room for the message.
      process.stderr.write(`scenario threw: ${err instanceof Error ? (err.stack ?? msg) : msg}\n`);
      out.push({ scenario: `error`, faults: step.toString().slice(0, 60), runs: 0, events: 0, bad: 0, audit: null, worst_recovery_ms: null, offsets_at_end: false, negative_control: false, notes: [], failures: [`scenario threw: ${msg}`], seconds: 0 });
    }
  }
  return out;
}

async function stopBroker(b: BrokerHandle): Promise<void> {
  if (b.startedHere) await kafkaLocal('stop', b).catch((e: unknown) => process.stderr.write(`could not stop the broker: ${String(e)}\n`));
}

/** The kill -9 lanes are one fault: one row, sums of counts, the worst of rates and recovery. */
function mergeKillLanes(rs: Result[]): Result[] {
  const lanes = rs.filter((r) => r.scenario.startsWith('kill9-'));
  if (lanes.length < 2) return rs;
  const a = lanes.map((r) => r.audit!);
  const sum = (f: (x: NonNullable<Result['audit']>) => number) => a.reduce((n, x) => n + f(x), 0);
  const m: Result = {
    ...lanes[0]!,
    scenario: 'kill9',
    runs: lanes.reduce((n, r) => n + r.runs, 0),
    events: lanes.reduce((n, r) => n + r.events, 0),
    bad: lanes.reduce((n, r) => n + r.bad, 0),
    audit: {
      ...a[0]!,
      expected_good: sum((x) => x.expected_good),
      expected_bad: sum((x) => x.expected_bad),
      lost: sum((x) => x.lost),
      lost_assignments: sum((x) => x.lost_assignments),
      duplicated: sum((x) => x.duplicated),
      duplicated_by_table: {},
      drift: sum((x) => x.drift),
      spurious: sum((x) => x.spurious),
      dlq_precision: Math.min(...a.map((x) => x.dlq_precision)),
      dlq_recall: Math.min(...a.map((x) => x.dlq_recall)),
      dlq_wrong_reason: sum((x) => x.dlq_wrong_reason),
      hostile_mismatch: sum((x) => x.hostile_mismatch),
    },
    worst_recovery_ms: Math.max(...lanes.map((r) => r.worst_recovery_ms ?? 0)),
    offsets_at_end: lanes.every((r) => r.offsets_at_end),
    notes: lanes.flatMap((r) => r.notes.map((n) => `${r.scenario}: ${n}`)),
    failures: lanes.flatMap((r) => r.failures.map((f) => `${r.scenario}: ${f}`)),
    seconds: Math.max(...lanes.map((r) => r.seconds)),
  };
  return [m, ...rs.filter((r) => !r.scenario.startsWith('kill9-'))];
}

function pct(x: number | undefined): string {
  return x === undefined ? '-' : `${(x * 100).toFixed(x === 1 ? 0 : 2)}%`;
}

function table(rs: Result[]): string {
  const head = ['scenario', 'faults injected', 'runs', 'events (good+bad)', 'lost', 'duplicated', 'drift', 'DLQ precision', 'DLQ recall', 'worst recovery', 'offsets at end', 'verdict'];
  const rows = rs.map((r) => [
    r.scenario,
    r.faults,
    String(r.runs),
    `${r.events}+${r.bad}`,
    String((r.audit?.lost ?? 0) + (r.audit?.lost_assignments ?? 0)),
    String(r.audit?.duplicated ?? '-'),
    String(r.audit?.drift ?? '-'),
    pct(r.audit?.dlq_precision),
    pct(r.audit?.dlq_recall),
    r.worst_recovery_ms === null ? '-' : `${(r.worst_recovery_ms / 1000).toFixed(1)} s`,
    r.offsets_at_end ? 'yes' : 'NO',
    r.failures.length ? 'FAIL' : r.negative_control ? 'ok (caught)' : 'ok',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fault suite: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
