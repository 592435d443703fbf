// `recur serve`'s /healthz reports on the store it serves from: 200 while it answers, 503 when it does not.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { startServer, TOKEN_FILE } from '../../src/serve/index.js';
import { embeddedStore, silentLog, tempDir, testConfig } from '../helpers/env.js';

describe('/healthz without a pipeline (embedded chDB, and a server that is gone)', () => {
  const config = testConfig();
  const db = embeddedStore(config);

  const healthz = async (client: ClickHouseClient) => {
    const srv = await startServer({ client, log: silentLog, host: '127.0.0.1', port: 0 });
    try {
      const res = await fetch(`${srv.url}/healthz`);
      return { status: res.status, body: (await res.json()) as { ok: boolean; detail: Record<string, unknown> } };
    } finally {
      await srv.close();
    }
  };

  it('answers 200 while the store answers', async () => {
    expect(await healthz(db.store.client)).toEqual({ status: 200, body: { ok: true, detail: { store: 'answering' } } });
  });

  it('on loopback, answers only requests naming a loopback host (DNS rebinding), and refuses bad parameters with 400', async () => {
    const srv = await startServer({ client: db.store.client, log: silentLog, host: '127.0.0.1', port: 0 });
    const get = (path: string, host?: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(srv.url);
        const req = request({ host: u.hostname, port: u.port, path, headers: host ? { host } : {} }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get('/api/summary', `localhost:${new URL(srv.url).port}`)).toBe(200);
      expect(await get('/api/summary')).toBe(200); // Node sends the address it connected to
      expect(await get('/api/affected/c_1', 'attacker.example:8470')).toBe(421);
      expect(await get('/api/clusters?limit=-1')).toBe(400);
      expect(await get('/api/trends?since_days=1e9')).toBe(400);
      expect(await get('/api/clusters?limit=5&since_days=7')).toBe(200);
    } finally {
      await srv.close();
    }
  });

  it('answers a HEAD probe of /healthz as its GET, and does not hold the API\'s list parameters against a probe\'s query', async () => {
    const srv = await startServer({ client: db.store.client, log: silentLog, host: '127.0.0.1', port: 0 });
    try {
      const head = await fetch(`${srv.url}/healthz`, { method: 'HEAD' });
      expect([head.status, await head.text()]).toEqual([200, '']);
      expect((await fetch(`${srv.url}/healthz?limit=0`)).status).toBe(200);
      expect((await fetch(`${srv.url}/metrics?limit=x`)).status).toBe(200);
      expect((await fetch(`${srv.url}/api/clusters?limit=0`)).status).toBe(400);
      expect((await fetch(`${srv.url}/healthz`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await srv.close();
    }
  });

  it('closes within its grace period while a client has sent only part of a request (it waited for good)', async () => {
    const { connect } = await import('node:net');
    const srv = await startServer({ client: db.store.client, log: silentLog, host: '127.0.0.1', port: 0 });
    const u = new URL(srv.url);
    const half = connect(Number(u.port), u.hostname);
    await new Promise((resolve) => half.on('connect', resolve));
    half.write(`GET /api/summary HTTP/1.1\r\nHost: ${u.host}\r\n`);
    half.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t0 = Date.now();
    await srv.close();
    expect(Date.now() - t0).toBeLessThan(10_000);
    half.destroy();
  }, 15_000);

  it("a status set through the API is told to the pipeline (its trend stage reads statuses again), a refused one is not", async () => {
    await db.store.client.insert({ table: 'assignments', values: [{ cluster_id: 'c_told', event_id: 'e-told' }], format: 'JSONEachRow' });
    const dir = tempDir();
    let told = 0;
    const srv = await startServer({ client: db.store.client, log: silentLog, host: '127.0.0.1', port: 0, store: dir, statusesChanged: () => told++ });
    try {
      const token = readFileSync(join(dir, TOKEN_FILE), 'utf8').trim();
      const post = (body: unknown) =>
        fetch(`${srv.url}/api/status/c_told`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) }).then((r) => r.status);
      expect(await post({ status: 'fixed' })).toBe(400);
      expect(told).toBe(0);
      expect(await post({ status: 'fix_available' })).toBe(200);
      expect(told).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('answers 503 when the ClickHouse server does not, without naming it', async () => {
    // A real client to a port nothing listens on: the server went away.
    const gone = createClient({ url: 'http://127.0.0.1:9', password: 'p4ss', request_timeout: 1000 });
    const r = await healthz(gone);
    expect(r.status).toBe(503);
    expect(r.body.ok).toBe(false);
    expect(JSON.stringify(r.body)).not.toMatch(/p4ss|127\.0\.0\.1/);
    await gone.close();
  });
});
