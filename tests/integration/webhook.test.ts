// Alert delivery over real HTTP on 127.0.0.1: Standard Webhooks signatures verified by our receiver,
// outages ridden out by the DeliveryQueue without loss or duplicates, a dead endpoint isolated; and the
// Kafka alert sink against the real broker.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWebhookReceiver,
  DeliveryQueue,
  KafkaAlertSink,
  LogSink,
  signWebhook,
  WebhookSink,
  type AlertPayload,
  type SinkHealth,
  type WebhookReceiver,
} from '../../src/sinks/index.js';
import { createProducer, kafkaClient } from '../../src/sources/index.js';
import { samplePayload, T0, HOUR } from '../../src/sinks/fixtures.test-util.js';
import { admin, createTopic, silentLog, testConfig, uniqueName, waitFor } from '../helpers/env.js';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const nowS = () => Math.floor(Date.now() / 1000);

async function post(url: string, body: string, headers: Record<string, string>): Promise<number> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  await res.arrayBuffer();
  return res.status;
}

function signedHeaders(id: string, ts: number, body: string, key = secret): Record<string, string> {
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(key, id, ts, body) };
}

describe('webhook receiver (real HTTP)', () => {
  let rx: WebhookReceiver;
  beforeAll(async () => {
    rx = await createWebhookReceiver({ secret, port: 0, host: '127.0.0.1' });
  });
  afterAll(() => rx.close());

  it('accepts what WebhookSink sends and rejects forged, stale and replayed deliveries', async () => {
    const p = samplePayload('c-1');
    await new WebhookSink({ url: rx.url, secret, timeoutMs: 2000 }).deliver(p);
    expect(rx.accepted.map((a) => a.id)).toEqual([`${p.episode_id}.${p.version}`]);
    expect(rx.accepted[0]!.payload).toEqual(p);

    const body = JSON.stringify(samplePayload('c-2'));
    const forgedKey = `whsec_${randomBytes(32).toString('base64')}`;
    expect(await post(rx.url, body, signedHeaders('forged.1', nowS(), body, forgedKey))).toBe(401);
    const tampered = signedHeaders('tampered.1', nowS(), body);
    expect(await post(rx.url, body.replace('finance', 'attacker'), tampered)).toBe(401);
    expect(await post(rx.url, body, signedHeaders('stale.1', nowS() - 600, body))).toBe(400);

    const ok = signedHeaders('fresh.1', nowS(), body);
    expect(await post(rx.url, body, ok)).toBe(200);
    expect(await post(rx.url, body, ok)).toBe(200); // acknowledged so the sender stops, not processed again

    expect(rx.accepted.map((a) => a.id)).toEqual([`${p.episode_id}.${p.version}`, 'fresh.1']);
    expect(rx.refused.map((r) => [r.id, r.reason, r.status])).toEqual([
      ['forged.1', 'bad_signature', 401],
      ['tampered.1', 'bad_signature', 401],
      ['stale.1', 'stale_timestamp', 400],
      ['fresh.1', 'replayed', 200],
    ]);
  });

  it("a handler that throws or rejects is answered 500, and the sender's retry of that id is passed on again", async () => {
    const handled: string[] = [];
    let failures = 2;
    const own = await createWebhookReceiver({
      secret,
      port: 0,
      host: '127.0.0.1',
      // A plain handler that throws, then an async one that rejects, then one that takes it.
      onAlert: (payload, id) => {
        if (failures-- === 2) throw new Error('database down');
        return (async () => {
          await new Promise((r) => setTimeout(r, 5));
          if (failures === 0) throw new Error('still down');
          handled.push(`${payload.cluster_id} ${id}`);
        })();
      },
    });
    try {
      const p = samplePayload('c-h');
      const sink = new WebhookSink({ url: own.url, secret, timeoutMs: 2000 });
      await expect(sink.deliver(p)).rejects.toMatchObject({ retriable: true });
      await expect(sink.deliver(p)).rejects.toMatchObject({ retriable: true });
      await sink.deliver(p);
      const id = `${p.episode_id}.${p.version}`;
      expect(handled).toEqual([`c-h ${id}`]);
      expect(own.accepted.map((a) => a.id)).toEqual([id]);
      expect(own.refused.map((r) => [r.id, r.reason, r.status])).toEqual([
        [id, 'handler_failed', 500],
        [id, 'handler_failed', 500],
      ]);
    } finally {
      await own.close();
    }
  });

  it('answers a request whose target is no URL with 404 and keeps serving (one such request ended the process)', async () => {
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect(rx.port, '127.0.0.1', () => s.write('POST http://[ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got.split('\r\n')[0]!));
      s.on('error', reject);
    });
    expect(answer).toBe('HTTP/1.1 404 Not Found');
    const body = JSON.stringify(samplePayload('c-after-bad-target'));
    expect(await post(rx.url, body, signedHeaders('after-bad-target.1', nowS(), body))).toBe(200);
  });

  it('a retry that comes while the handler still runs is told to come back, not acknowledged as a duplicate', async () => {
    let calls = 0;
    const slow = await createWebhookReceiver({
      secret,
      port: 0,
      host: '127.0.0.1',
      onAlert: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 300));
        if (calls === 1) throw new Error('database down');
      },
    });
    try {
      const body = JSON.stringify(samplePayload('c-slow'));
      const headers = signedHeaders('slow.1', nowS(), body);
      const first = post(slow.url, body, headers);
      await new Promise((r) => setTimeout(r, 50));
      // Before, this was 200 "duplicate": the sender took it as delivered, and the first then failed.
      expect(await post(slow.url, body, headers)).toBe(503);
      expect(await first).toBe(500);
      expect(await post(slow.url, body, headers)).toBe(200);
      expect([calls, slow.accepted.map((a) => a.id)]).toEqual([2, ['slow.1']]);
    } finally {
      await slow.close();
    }
  });

  it('a sink pointed at a permanent 4xx fails for good; a 503 is retriable', async () => {
    const p = samplePayload('c-3');
    const missing = new WebhookSink({ url: rx.url + 'nope', secret, timeoutMs: 2000 });
    await expect(missing.deliver(p)).rejects.toMatchObject({ retriable: false, code: 'sink_failed', stage: 'sink' });
    rx.setMode('unavailable');
    try {
      await expect(new WebhookSink({ url: rx.url, secret }).deliver(p)).rejects.toMatchObject({ retriable: true });
    } finally {
      rx.setMode('up');
    }
  });
});

describe('webhook receiver bounds (real HTTP)', () => {
  it('keeps only the newest deliveries it was sent, and answers an oversize body at once without reading it all', async () => {
    const small = await createWebhookReceiver({ secret, port: 0, host: '127.0.0.1', keepLast: 3, maxBodyBytes: 1000 });
    try {
      for (let i = 0; i < 10; i++) expect(await post(small.url, '{}', signedHeaders(`scan.${i}`, nowS(), '{}', `whsec_${randomBytes(32).toString('base64')}`))).toBe(401);
      expect(small.refused.map((r) => r.id)).toEqual(['scan.7', 'scan.8', 'scan.9']);
      // 64 MB offered: the answer comes after the first kilobyte or so, and the connection is closed.
      const status = await new Promise<number>((resolve, reject) => {
        const u = new URL(small.url);
        const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', (err) => (req.writableEnded ? undefined : reject(err)));
        const piece = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 1024 && req.write(piece)) sent++;
          if (sent < 1024) req.once('drain', pump);
          else req.end();
        };
        pump();
      });
      expect(status).toBe(413);
      expect(small.refused.at(-1)).toMatchObject({ reason: 'too_large', status: 413 });
    } finally {
      await small.close();
    }
  });
});

describe('DeliveryQueue through an outage (real HTTP)', () => {
  const logged: object[] = [];
  let rx: WebhookReceiver;
  let q: DeliveryQueue;
  const health = (name: string): SinkHealth => q.health().find((h) => h.sink === name)!;

  beforeAll(async () => {
    rx = await createWebhookReceiver({ secret, port: 0 });
    q = new DeliveryQueue(
      [
        new WebhookSink({ url: rx.url, secret, timeoutMs: 1000, name: 'receiver' }),
        new WebhookSink({ url: `${rx.url}missing`, secret, timeoutMs: 1000, name: 'missing' }),
        new LogSink({ info: (obj) => logged.push(obj) }),
      ],
      { initialBackoffMs: 20, maxBackoffMs: 150 },
    );
  });
  afterAll(async () => {
    await q.drain(1000);
    await rx.close();
  });

  it('delays alerts while the receiver is down, then delivers each version exactly once', async () => {
    const clusters = Array.from({ length: 10 }, (_, i) => `c-${i}`);
    const sent: AlertPayload[] = [];
    const send = (p: AlertPayload) => {
      sent.push(p);
      expect(q.enqueue(p)).toBe(true);
    };

    // Up: five episodes open.
    for (const c of clusters.slice(0, 5)) send(samplePayload(c, 'opened'));
    expect(await q.settled(5000)).toBe(true);
    expect(rx.accepted).toHaveLength(5);

    // Down, three ways: 503s, connections reset, then nothing listening at all.
    rx.setMode('unavailable');
    for (const c of clusters.slice(0, 5)) send(samplePayload(c, 'updated', T0 + HOUR + 60_000));
    for (const c of clusters.slice(5)) send(samplePayload(c, 'opened'));
    await waitFor('503s', async () => rx.refused.filter((r) => r.reason === 'down').length >= 3, 5000);
    const failedBefore = health('receiver').consecutive_failures;
    rx.setMode('reset');
    await waitFor('resets', async () => health('receiver').consecutive_failures >= failedBefore + 2, 5000);
    await rx.stop();
    const refusedFrom = health('receiver').consecutive_failures;
    await waitFor('connection refused', async () => health('receiver').consecutive_failures >= refusedFrom + 2, 5000);

    // Meanwhile the other sinks went on: the log has everything, the dead endpoint gave up on each.
    expect(health('log')).toMatchObject({ delivered: 15, healthy: true });
    expect(health('receiver')).toMatchObject({ healthy: false, retrying: 1, delivered: 5 });
    expect(health('receiver').last_error).toMatch(/unreachable/);
    expect(rx.accepted).toHaveLength(5);

    // Back up on the same port.
    await rx.start();
    rx.setMode('up');
    expect(await q.settled(10_000)).toBe(true);

    const got = rx.accepted.map((a) => a.id);
    expect(new Set(got).size).toBe(got.length); // no duplicates
    expect(got.sort()).toEqual(sent.map((p) => `${p.episode_id}.${p.version}`).sort()); // none lost
    expect(rx.refused.filter((r) => r.reason !== 'down' && r.reason !== 'not_found')).toEqual([]);
    for (const a of rx.accepted) expect(a.id).toBe(`${a.payload.episode_id}.${a.payload.version}`);

    expect(health('receiver')).toMatchObject({ healthy: true, delivered: 15, failed_permanent: 0, retrying: 0, pending: 0, consecutive_failures: 0 });
    expect(health('receiver').retries).toBeGreaterThanOrEqual(6);
    expect(health('missing')).toMatchObject({ healthy: false, delivered: 0, failed_permanent: 15 });
    expect(health('missing').last_error).toMatch(/answered 404/);
    expect(rx.refused.filter((r) => r.reason === 'not_found')).toHaveLength(15);
    expect(logged).toHaveLength(15);
  });
});

describe('KafkaAlertSink (real broker)', () => {
  it('publishes each version keyed by episode_id with type/kind/version headers', async () => {
    const cfg = testConfig();
    const topic = uniqueName('recur-alerts');
    await createTopic(topic, 3);
    const producer = await createProducer(kafkaClient(cfg.kafka, silentLog));
    const consumer = admin().consumer({ groupId: uniqueName('alerts-reader') });
    try {
      const sink = new KafkaAlertSink(producer, topic);
      expect(sink.name).toBe(`kafka:${topic}`);
      const opened = samplePayload('c-k', 'opened');
      const updated = samplePayload('c-k', 'updated', T0 + 2 * HOUR);
      await sink.deliver(opened);
      await sink.deliver(updated);

      const seen: { key: string; partition: number; headers: Record<string, string>; value: AlertPayload }[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }) => {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          seen.push({ key: String(message.key), partition, headers, value: JSON.parse(String(message.value)) });
        },
      });
      await waitFor('two alert messages', async () => seen.length >= 2, 30_000);
      expect(seen.map((m) => m.key)).toEqual([opened.episode_id, opened.episode_id]);
      expect(seen[0]!.partition).toBe(seen[1]!.partition);
      expect(seen.map((m) => m.headers)).toEqual([
        { type: 'opened', kind: 'spike', version: String(opened.version) },
        { type: 'updated', kind: 'spike', version: String(updated.version) },
      ]);
      expect(seen[1]!.value).toEqual(updated);
    } finally {
      await consumer.disconnect();
      await producer.close();
    }
  });
});
