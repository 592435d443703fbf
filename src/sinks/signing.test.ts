import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook, webhookKey } from './signing.js';
import { samplePayload } from './fixtures.test-util.js';

// Known answer from the Standard Webhooks reference library
// (standard-webhooks/standard-webhooks, libraries/javascript/src/webhook.test.ts, "sign function works").
const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const secret = SPEC.secret;
const now = 1_715_000_000;

function signed(body = JSON.stringify(samplePayload()), id = 'ep1.1000', ts = now) {
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secret, id, ts, body), body };
}

function verify(h: ReturnType<typeof signed>, seen = new Set<string>(), nowSeconds = now) {
  const { body, ...headers } = h;
  return verifyWebhook({ secret, headers, body, nowSeconds, seen });
}

describe('Standard Webhooks signing', () => {
  it('matches the specification’s known-answer vector, with or without the whsec_ prefix', () => {
    expect(signWebhook(SPEC.secret, SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(signWebhook(SPEC.secret.slice(6), SPEC.id, SPEC.timestamp, SPEC.body)).toBe(SPEC.signature);
    expect(signWebhook(SPEC.secret, SPEC.id, SPEC.timestamp, Buffer.from(SPEC.body))).toBe(SPEC.signature);
  });

  it('rejects secrets that are not 24–64 bytes of base64', () => {
    expect(() => webhookKey('whsec_')).toThrow(TypeError);
    expect(() => webhookKey('whsec_c2hvcnQ=')).toThrow(/24–64 bytes/);
    expect(() => webhookKey('whsec_not base64!')).toThrow(TypeError);
    expect(webhookKey(SPEC.secret)).toHaveLength(24);
  });
});

describe('verifyWebhook', () => {
  it('accepts a valid delivery once, then reports the replay', () => {
    const seen = new Set<string>();
    const h = signed();
    const first = verify(h, seen);
    expect(first.ok).toBe(true);
    if (first.ok) expect(first.payload).toEqual(samplePayload());
    expect(verify(h, seen)).toEqual({ ok: false, reason: 'replayed', id: 'ep1.1000' });
  });

  it('accepts any matching v1 signature among several, ignoring other versions', () => {
    const h = signed();
    h['webhook-signature'] = ['v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=', 'v1a,abc', h['webhook-signature'], 'v2,xyz'].join(' ');
    expect(verify(h).ok).toBe(true);
  });

  it('rejects a forged or altered delivery', () => {
    const h = signed();
    expect(verify({ ...h, body: h.body.replace('finance', 'nobody') }).ok).toBe(false);
    expect(verify({ ...h, 'webhook-id': 'ep1.1001' })).toMatchObject({ reason: 'bad_signature' });
    expect(verify({ ...h, 'webhook-signature': signWebhook('whsec_' + Buffer.alloc(32, 7).toString('base64'), 'ep1.1000', now, h.body) })).toMatchObject({
      reason: 'bad_signature',
    });
    expect(verify({ ...h, 'webhook-signature': 'v1,' })).toMatchObject({ reason: 'bad_signature' });
    expect(verify({ ...h, 'webhook-signature': h['webhook-signature'].slice(0, 10) })).toMatchObject({ reason: 'bad_signature' });
    expect(verify({ ...h, 'webhook-signature': h['webhook-signature'].replace('v1,', 'v2,') })).toMatchObject({ reason: 'bad_signature' });
  });

  it('rejects timestamps outside the tolerance in either direction', () => {
    expect(verify(signed(undefined, 'a', now - 301))).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verify(signed(undefined, 'a', now + 301))).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    expect(verify(signed(undefined, 'a', now - 300)).ok).toBe(true);
  });

  it('reports missing headers and non-payload bodies as malformed', () => {
    const h = signed();
    const { body, ...headers } = h;
    for (const drop of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const partial: Record<string, string> = { ...headers };
      delete partial[drop];
      expect(verifyWebhook({ secret, headers: partial, body, nowSeconds: now, seen: new Set() })).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(verify({ ...h, 'webhook-timestamp': 'hello' })).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(signed('{"not":"an alert"}'))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(verify(signed('not json'))).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('reads headers case-insensitively and from a Fetch Headers object', () => {
    const { body, ...headers } = signed();
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook({ secret, headers: upper, body, nowSeconds: now, seen: new Set() }).ok).toBe(true);
    expect(verifyWebhook({ secret, headers: new Headers(headers), body, nowSeconds: now, seen: new Set() }).ok).toBe(true);
  });
});
