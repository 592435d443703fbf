import { describe, expect, it } from 'vitest';
import { WebhookSink } from './webhook.js';
import { samplePayload } from './fixtures.test-util.js';

const secret = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

describe('WebhookSink', () => {
  it('is named by host and a digest of the URL: a token in the path or query never reaches health, metrics or logs', () => {
    const a = new WebhookSink({ url: 'https://hooks.example.com/services/T0K3N-abcdef?key=Q5ecret', secret });
    expect(a.name).toMatch(/^webhook:hooks\.example\.com#[0-9a-f]{8}$/);
    expect(a.name).not.toMatch(/T0K3N|Q5ecret|services/);
    // Two endpoints on one host (differing only by query) stay two sinks.
    expect(new WebhookSink({ url: 'https://hooks.example.com/services/T0K3N-abcdef?key=other', secret }).name).not.toBe(a.name);
  });

  it('refuses a URL with credentials, without quoting them', () => {
    expect(() => new WebhookSink({ url: 'https://ops:hunter2@hooks.example.com/recur', secret })).toThrow(/must not carry credentials/);
    try {
      new WebhookSink({ url: 'https://ops:hunter2@hooks.example.com/recur', secret });
    } catch (err) {
      expect(String(err)).not.toContain('hunter2');
    }
  });

  it('says why an endpoint is unreachable, without its path or query, and takes a port fetch refuses as final', async () => {
    const { createServer } = await import('node:net');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const fail = (url: string) =>
      new WebhookSink({ url, secret, timeoutMs: 3000 }).deliver(samplePayload()).then(
        () => null,
        (e: { message: string; retriable: boolean }) => [e.message.replace(/webhook:[^ ]+/, 'SINK'), e.retriable] as const,
      );
    expect(await fail(`http://127.0.0.1:${port}/hook?key=Q5ecret`)).toEqual(['webhook SINK unreachable: fetch failed (ECONNREFUSED)', true]);
    expect(await fail('http://127.0.0.1:1/hook?key=Q5ecret')).toEqual(['webhook SINK unreachable: fetch failed (bad port)', false]);
  });
});
