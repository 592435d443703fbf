// Alerts a stopped process still held in memory reach their sink after a restart: the episodes are in
// trend_alerts before any sink is tried, and alert_deliveries says which versions each sink got.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookReceiver, type WebhookReceiver } from '../../src/sinks/index.js';
import { recur, recurAsync } from '../helpers/cli.js';
import { tempDir } from '../helpers/env.js';

const SAMPLE = new URL('../../examples/sample-events.ndjson', import.meta.url).pathname;
const secret = `whsec_${randomBytes(32).toString('base64')}`;

describe('alert redelivery after a restart (real processes, embedded chDB, real HTTP)', () => {
  // Two sinks, both down for the first run: each must get every episode as it would have, opened included.
  let rx: WebhookReceiver;
  let rx2: WebhookReceiver;
  beforeAll(async () => {
    rx = await createWebhookReceiver({ secret, port: 0, host: '127.0.0.1' });
    rx2 = await createWebhookReceiver({ secret, port: 0, host: '127.0.0.1', path: '/second' });
  });
  afterAll(async () => {
    await rx.close();
    await rx2.close();
  });

  it('sends each sink the latest version of every episode it never got, once', async () => {
    const dir = tempDir();
    const config = join(dir, 'recur.json');
    writeFileSync(config, JSON.stringify({ alerts: { log: false, kafka: false, webhooks: [{ url: rx.url, secret, timeoutMs: 2000 }, { url: rx2.url, secret, timeoutMs: 2000 }] } }));
    const empty = join(dir, 'empty.ndjson');
    writeFileSync(empty, '');
    const run = async (input: string) => {
      const r = await recurAsync(['run', '--input', input, '--data-dir', dir, '--config', config, '--log-level', 'warn']).done;
      expect(r.code, r.stderr).toBe(0);
      return r;
    };

    // The receiver is down for the whole first run: every episode stays undelivered when it stops.
    rx.setMode('unavailable');
    rx2.setMode('unavailable');
    const first = await run(SAMPLE);
    expect(first.stderr).toMatch(/left undelivered at shutdown/);
    expect(rx.accepted).toHaveLength(0);
    const episodes = JSON.parse(recur(['trends', '--since', 'all', '--json', '--data-dir', dir]).stdout) as { episode_id: string; status: string }[];
    expect(episodes.length).toBeGreaterThan(5);

    // A restart with nothing new to read sends them, each once, as stored.
    rx.setMode('up');
    rx2.setMode('up');
    await run(empty);
    const got = rx.accepted.map((a) => a.payload);
    // The second sink got the same episodes, the same way.
    expect(rx2.accepted.map((a) => `${a.payload.episode_id} ${a.payload.type}`).sort()).toEqual(got.map((p) => `${p.episode_id} ${p.type}`).sort());
    // Under the same webhook ids (episode_id.version): each stored version is one version for every sink (the
    // second sink's was bumped by one, a version trend_alerts never held, which its receiver's replay check missed).
    expect(rx2.accepted.map((a) => a.id).sort()).toEqual(rx.accepted.map((a) => a.id).sort());
    expect(got.map((p) => p.episode_id).sort()).toEqual(episodes.map((e) => e.episode_id).sort());
    const status = new Map(episodes.map((e) => [e.episode_id, e.status]));
    for (const p of got) {
      expect(p.status).toBe(status.get(p.episode_id));
      // Never sent before: an open episode arrives as opened, a closed one as closed.
      expect(p.type).toBe(p.status === 'closed' ? 'closed' : 'opened');
      expect(Date.parse(p.window.end)).toBeGreaterThan(Date.parse(p.window.start));
    }

    // Recorded as delivered: the next restart sends nothing again.
    await run(empty);
    expect(rx.accepted).toHaveLength(got.length);
    expect(rx2.accepted).toHaveLength(got.length);
  });

  it('sends again what a sink refused for good once told to (its clock was wrong), and only then', async () => {
    // A receiver whose clock runs ten minutes ahead refuses every delivery as stale (400): refused for good.
    let skewMs = 10 * 60_000;
    const skewed = await createWebhookReceiver({ secret, port: 0, host: '127.0.0.1', now: () => Date.now() + skewMs });
    try {
      const dir = tempDir();
      const config = join(dir, 'recur.json');
      writeFileSync(config, JSON.stringify({ alerts: { log: false, kafka: false, webhooks: [{ url: skewed.url, secret, timeoutMs: 2000 }] } }));
      const empty = join(dir, 'empty.ndjson');
      writeFileSync(empty, '');
      const run = async (input: string, env: Record<string, string> = {}) => {
        const r = await recurAsync(['run', '--input', input, '--data-dir', dir, '--config', config, '--log-level', 'warn'], env).done;
        expect(r.code, r.stderr).toBe(0);
        return r;
      };
      await run(SAMPLE);
      expect(skewed.accepted).toHaveLength(0);
      const refused = skewed.refused.filter((r) => r.reason === 'stale_timestamp').length;
      expect(refused).toBeGreaterThan(5);
      // Its clock mended: a plain restart does not send what was refused for good...
      skewMs = 0;
      await run(empty);
      expect(skewed.accepted).toHaveLength(0);
      // ...one told to does, each episode once, as stored.
      await run(empty, { RECUR_ALERTS_REDELIVER_FAILED: 'true' });
      const episodes = JSON.parse(recur(['trends', '--since', 'all', '--json', '--data-dir', dir]).stdout) as { episode_id: string }[];
      expect(skewed.accepted.map((a) => a.payload.episode_id).sort()).toEqual(episodes.map((e) => e.episode_id).sort());
    } finally {
      await skewed.close();
    }
  });
});
