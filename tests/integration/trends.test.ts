import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { migrate, openStore, type Store } from '../../src/store/index.js';
import { KafkaSource, createProducer, kafkaClient } from '../../src/sources/index.js';
import { runJob } from '../../src/pipeline/job.js';
import { Metrics } from '../../src/pipeline/metrics.js';
import { mulberry32 } from '../../src/cluster/prng.js';
import type { Config } from '../../src/config/index.js';
import { admin, createTopic, silentLog, testConfig, uniqueName, waitFor } from '../helpers/env.js';
import { clusterCosts, affectedCustomers } from '../../src/store/index.js';
import { contactCost, ownersConfigSchema } from '../../src/owners/index.js';

// One core sentence per problem with everyday fillers around it: the test is about trends, so the
// problems must be unambiguous for any reasonable clusterer.
const PROBLEMS = {
  declined: ['my card payment was declined at the shop'],
  arrival: ['my new card has still not arrived in the post'],
  pin: ['how do i change the pin code of my account'],
  transfer: ['my bank transfer to a friend is still pending'],
} as const;
const FILLERS = ['', 'hello, ', 'hi there, ', 'please help: ', 'urgent: '];
type Problem = keyof typeof PROBLEMS;

const START = Date.UTC(2026, 9, 5); // a Monday
const DAYS = 10;
const SURGE = { problem: 'declined' as Problem, day: 8, fromHour: 10, hours: 6, perHour: 14 };

function poisson(rand: () => number, mean: number): number {
  let k = 0;
  let p = Math.exp(-mean);
  let s = p;
  const u = rand();
  while (u > s) {
    k++;
    p *= mean / k;
    s += p;
  }
  return k;
}

function stream() {
  const rand = mulberry32(2026);
  const events: Record<string, unknown>[] = [];
  let n = 0;
  for (let h = 0; h < DAYS * 24; h++) {
    const hour = h % 24;
    const level = hour >= 8 && hour < 20 ? 2 : 0.4;
    for (const problem of Object.keys(PROBLEMS) as Problem[]) {
      let k = poisson(rand, level);
      const day = Math.floor(h / 24);
      if (problem === SURGE.problem && day === SURGE.day && hour >= SURGE.fromHour && hour < SURGE.fromHour + SURGE.hours) k += SURGE.perHour;
      for (let i = 0; i < k; i++) {
        const texts = PROBLEMS[problem];
        n++;
        events.push({
          event_id: `t-${n}`,
          case_id: `case-${n}`,
          customer_id: `cust-${Math.floor(rand() * 5000)}`,
          channel: ['email', 'chat', 'phone'][n % 3],
          occurred_at: new Date(START + h * 3_600_000 + Math.floor(rand() * 3_599_000)).toISOString(),
          description: `${FILLERS[Math.floor(rand() * FILLERS.length)]}${texts[Math.floor(rand() * texts.length)]}`,
          problem,
        });
      }
    }
  }
  events.sort((a, b) => String(a['occurred_at']).localeCompare(String(b['occurred_at'])));
  return events;
}

type Row = Record<string, unknown>;

describe('trend detection through real Kafka and ClickHouse', () => {
  let config: Config;
  let store: Store;
  let producer: Producer;
  const events = stream();

  beforeAll(async () => {
    config = testConfig({ 'kafka.alertsTopic': uniqueName('alerts'), 'alerts.log': false });
    await createTopic(config.kafka.topic, 1);
    store = await openStore(config.clickhouse);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
    producer = admin().producer();
    await producer.connect();
    for (let i = 0; i < events.length; i += 500) {
      await producer.send({ topic: config.kafka.topic, messages: events.slice(i, i + 500).map((e) => ({ value: JSON.stringify(e) })) });
    }
  });

  afterAll(async () => {
    await producer?.disconnect();
    await store?.close();
  });

  async function rows(query: string): Promise<Row[]> {
    const rs = await store.client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
    return rs.json<Row>();
  }

  it('one injected surge gives exactly one surge episode, on the right cluster, and counts equal a recount', async () => {
    const metrics = new Metrics();
    const kafka = kafkaClient(config.kafka, silentLog);
    const source = new KafkaSource(kafka, config.kafka, silentLog);
    const alertsProducer = await createProducer(kafka);
    const done = runJob({ config, log: silentLog, store, source, finite: false, metrics, producer: alertsProducer });
    await waitFor('all events stored', async () => metrics.get('events_stored') >= events.length, 90_000);
    await source.stop();
    const result = await done;
    await alertsProducer.close();
    expect(result.sinks.every((h) => h.healthy && h.failed_permanent === 0)).toBe(true);

    // Which cluster holds the surging problem: the one most of its events were assigned to.
    const assigned = await rows(`SELECT c.event_id AS event_id, a.cluster_id AS cluster_id FROM case_events AS c JOIN assignments AS a ON a.event_id = c.event_id`);
    const byEvent = new Map(assigned.map((r) => [String(r['event_id']), String(r['cluster_id'])]));
    const votes = new Map<string, number>();
    for (const e of events) if (e['problem'] === SURGE.problem) votes.set(byEvent.get(String(e['event_id']))!, (votes.get(byEvent.get(String(e['event_id']))!) ?? 0) + 1);
    const surgeCluster = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];

    const episodes = await rows(`SELECT episode_id, cluster_id, toString(kind) AS kind, toUnixTimestamp(window_start) * 1000 AS start FROM v_trend_episodes`);
    const surges = episodes.filter((e) => e['kind'] !== 'new');
    expect(surges, JSON.stringify(episodes)).toHaveLength(1);
    expect(surges[0]!['cluster_id']).toBe(surgeCluster);
    const surgeStart = START + (SURGE.day * 24 + SURGE.fromHour) * 3_600_000;
    expect(Number(surges[0]!['start'])).toBeGreaterThanOrEqual(surgeStart);
    expect(Number(surges[0]!['start'])).toBeLessThanOrEqual(surgeStart + 3 * 3_600_000); // detected within 3 hourly buckets
    // `new` episodes only while clusters are young (first days), never for the surge itself.
    for (const e of episodes.filter((x) => x['kind'] === 'new')) expect(Number(e['start'])).toBeLessThan(START + 4 * 86_400_000);

    // Rolling counts in ClickHouse equal a recount from assignments, bucket by bucket.
    const drift = await rows(`
      SELECT count() AS mismatches FROM (
        SELECT cluster_id, bucket, sum(contacts) AS contacts, uniqExactMerge(cases) AS cases FROM cluster_counts GROUP BY cluster_id, bucket
      ) AS c FULL OUTER JOIN (
        SELECT cluster_id, toStartOfHour(occurred_at) AS bucket, count() AS contacts, uniqExact(case_id) AS cases FROM assignments GROUP BY cluster_id, bucket
      ) AS r ON c.cluster_id = r.cluster_id AND c.bucket = r.bucket
      WHERE c.contacts != r.contacts OR c.cases != r.cases`);
    expect(Number(drift[0]!['mismatches'])).toBe(0);
    const [total] = await rows('SELECT sum(contacts) AS n FROM cluster_counts');
    expect(Number(total!['n'])).toBe(events.length);

    // Alerts on Kafka: one key per episode; an episode's updates reuse its key, never a new one.
    const consumer = admin().consumer({ groupId: uniqueName('alerts-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: config.kafka.alertsTopic, fromBeginning: true });
    const alerts: { key: string; type: string; episode: string; version: number }[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        const p = JSON.parse(message.value!.toString());
        alerts.push({ key: message.key!.toString(), type: p.type, episode: p.episode_id, version: p.version });
      },
    });
    await waitFor('alerts consumed', async () => alerts.length > 0 && alerts.some((a) => a.episode === surges[0]!['episode_id']), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    await consumer.disconnect();
    for (const a of alerts) expect(a.key).toBe(a.episode);
    const surgeAlerts = alerts.filter((a) => a.episode === surges[0]!['episode_id']);
    expect(surgeAlerts[0]!.type).toBe('opened');
    expect(surgeAlerts.slice(1).every((a) => a.type !== 'opened')).toBe(true); // updates and a close, same key
    expect(new Set(alerts.map((a) => a.key)).size).toBe(episodes.length);
    const versions = surgeAlerts.map((a) => a.version);
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);

    // Repeat contacts (same customer, same cluster, another case within 7 days) agree with a recount.
    const [rep] = await rows('SELECT sum(repeat_contacts) AS n FROM v_repeat_contacts(window_days = 7)');
    const last = new Map<string, { at: number; caseId: string }>();
    let repeats = 0;
    for (const e of events) {
      const k = `${byEvent.get(String(e['event_id']))}|${e['customer_id']}`;
      const at = Date.parse(String(e['occurred_at']));
      const prev = last.get(k);
      if (prev && prev.caseId !== e['case_id'] && at - prev.at <= 7 * 86_400_000) repeats++;
      last.set(k, { at, caseId: String(e['case_id']) });
    }
    expect(repeats).toBeGreaterThan(0);
    expect(Number(rep!['n'])).toBe(repeats);

    // `recur affected` and `recur cost` agree with a recount from the raw rows.
    const surgeEvents = events.filter((e) => byEvent.get(String(e['event_id'])) === surgeCluster);
    const affected = (await affectedCustomers(store.client, surgeCluster, 0))!;
    const byCustomer = new Map<string, Set<string>>();
    for (const e of surgeEvents) byCustomer.set(String(e['customer_id']), (byCustomer.get(String(e['customer_id'])) ?? new Set()).add(String(e['case_id'])));
    expect(affected.length).toBe(byCustomer.size);
    for (const a of affected) expect(a.cases).toBe(byCustomer.get(a.customer_id)!.size);
    const costs = await clusterCosts(store.client, config.owners.cost, 0);
    // Every cluster with stored contacts is charged, and every contact once.
    expect(new Set(costs.map((c) => c.cluster_id))).toEqual(new Set(byEvent.values()));
    expect(costs.reduce((n, c) => n + c.contacts, 0)).toBe(events.length);
    for (const c of costs) {
      const mine = events.filter((e) => byEvent.get(String(e['event_id'])) === c.cluster_id);
      const recount = mine.reduce((s, e) => s + contactCost({ channel: String(e['channel']) }, config.owners.cost), 0);
      expect(c.cost).toBeCloseTo(recount, 2);
      expect(c.contacts).toBe(mine.length);
    }
    // With an hourly rate, a contact without a handle time still costs its channel's price, as contactCost says.
    const hourly = ownersConfigSchema.parse({ cost: { hourlyRate: 36 } }).cost;
    const costed = (e: Record<string, unknown>) => ({
      channel: String(e['channel']),
      ...(typeof e['cost'] === 'number' ? { cost: e['cost'] } : {}),
      ...(typeof e['handle_seconds'] === 'number' ? { handle_seconds: e['handle_seconds'] } : {}),
    });
    expect(events.some((e) => typeof e['handle_seconds'] !== 'number' && typeof e['cost'] !== 'number')).toBe(true);
    for (const c of await clusterCosts(store.client, hourly, 0)) {
      const mine = events.filter((e) => byEvent.get(String(e['event_id'])) === c.cluster_id);
      expect(c.cost).toBeCloseTo(mine.reduce((s, e) => s + contactCost(costed(e), hourly), 0), 2);
    }
  });
});
