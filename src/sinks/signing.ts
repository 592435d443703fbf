// Standard Webhooks signing and verification (https://www.standardwebhooks.com, spec v1.0.0):
// signed content `${webhook-id}.${webhook-timestamp}.${body}`, HMAC-SHA256 with the base64 key after
// `whsec_`, header `webhook-signature: v1,<base64>` (several space-separated signatures allowed).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { alertPayloadSchema, type AlertPayload } from './payload.js';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key of a `whsec_…` secret (prefix optional). The spec asks for 24–64 random bytes. */
export function webhookKey(secret: string): Buffer {
  const b64 = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (!BASE64.test(b64) || b64.length % 4 !== 0) throw new TypeError('webhook secret must be whsec_ followed by base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 24 || key.length > 64) throw new TypeError(`webhook secret must decode to 24–64 bytes, got ${key.length}`);
  return key;
}

function digest(key: Buffer, id: string, timestamp: number, body: string | Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/** `v1,<base64 HMAC-SHA256>` of `${id}.${timestamp}.${body}`. */
export function signWebhook(secret: string | Buffer, id: string, timestampSeconds: number, body: string | Buffer): string {
  const key = typeof secret === 'string' ? webhookKey(secret) : secret;
  return `v1,${digest(key, id, timestampSeconds, body).toString('base64')}`;
}

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

function header(h: WebhookHeaders, name: string): string | undefined {
  if (h instanceof Headers) return h.get(name) ?? undefined;
  for (const [k, v] of Object.entries(h)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v.join(' ') : v;
  }
  return undefined;
}

export type VerifyFailure = 'bad_signature' | 'stale_timestamp' | 'replayed' | 'malformed';
export type VerifyResult = { ok: true; id: string; payload: AlertPayload } | { ok: false; reason: VerifyFailure; id?: string };

export interface VerifyOptions {
  secret: string;
  headers: WebhookHeaders;
  /** The raw request body, exactly as received. */
  body: string | Buffer;
  nowSeconds: number;
  toleranceSeconds?: number;
  /** Ids already accepted; an accepted id is added. Bound it (e.g. to 2 × tolerance) in a long-lived receiver. */
  seen: { has(id: string): boolean; add(id: string): void };
}

const ID = /^[\x21-\x7e]{1,256}$/;

/**
 * Verifies one delivery: headers present, timestamp within tolerance (both directions), one of the
 * `v1` signatures matches (constant time), id not seen before, body a valid alert payload.
 */
export function verifyWebhook(o: VerifyOptions): VerifyResult {
  const tolerance = o.toleranceSeconds ?? 300;
  const id = header(o.headers, 'webhook-id');
  const ts = header(o.headers, 'webhook-timestamp');
  const sigs = header(o.headers, 'webhook-signature');
  if (!id || !ID.test(id) || !ts || !/^\d{1,12}$/.test(ts) || !sigs) return { ok: false, reason: 'malformed' };
  const timestamp = Number(ts);
  if (Math.abs(o.nowSeconds - timestamp) > tolerance) return { ok: false, reason: 'stale_timestamp', id };
  const expected = digest(webhookKey(o.secret), id, timestamp, o.body);
  let match = false;
  for (const versioned of sigs.split(' ')) {
    const comma = versioned.indexOf(',');
    if (comma < 0 || versioned.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(versioned.slice(comma + 1), 'base64');
    // Lengths are public (always 32 for SHA-256); only equal-length buffers reach timingSafeEqual.
    if (given.length === expected.length && timingSafeEqual(given, expected)) match = true;
  }
  if (!match) return { ok: false, reason: 'bad_signature', id };
  if (o.seen.has(id)) return { ok: false, reason: 'replayed', id };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof o.body === 'string' ? o.body : o.body.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed', id };
  }
  const payload = alertPayloadSchema.safeParse(parsed);
  if (!payload.success) return { ok: false, reason: 'malformed', id };
  o.seen.add(id);
  return { ok: true, id, payload: payload.data };
}
