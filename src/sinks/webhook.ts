import { createHash } from 'node:crypto';
import { errorMessage } from '../errors.js';
import type { AlertPayload } from './payload.js';
import { signWebhook, webhookKey } from './signing.js';
import { SinkError, type AlertSink } from './types.js';

export interface WebhookSinkOptions {
  url: string;
  /** `whsec_` + base64 of 24–64 random bytes, one per endpoint (Standard Webhooks). */
  secret: string;
  timeoutMs?: number;
  name?: string;
  /** Clock in ms, injected for tests. */
  now?: () => number;
}

function retryAfterMs(h: string | null, nowMs: number): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const at = Date.parse(h);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : undefined;
}

/**
 * The sink's name in health, metrics, logs and alert_deliveries: the host and a digest of the whole URL.
 * Hook URLs often carry their token in the path or query (`/hooks/T0K3N`), so neither is shown; the digest
 * keeps two endpoints on one host apart.
 */
export function webhookSinkName(url: URL): string {
  return `webhook:${url.host}#${createHash('sha256').update(url.href).digest('hex').slice(0, 8)}`;
}

/**
 * POSTs the payload signed the Standard Webhooks way. `webhook-id` is `${episode_id}.${version}`: the
 * same for every retry of one version (the receiver's idempotency key), new for each version.
 * 2xx delivered; 4xx except 408/429 permanent; 3xx permanent too (a signed POST is not re-sent to
 * another URL); 408, 429, 5xx, timeouts and network errors retriable.
 */
export class WebhookSink implements AlertSink {
  readonly name: string;
  private readonly key: Buffer;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly o: WebhookSinkOptions) {
    this.key = webhookKey(o.secret);
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.now = o.now ?? Date.now;
    const u = new URL(o.url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TypeError(`webhook url must be http(s): ${u.protocol}`);
    // fetch refuses such a URL on every attempt, and its error quotes the URL, password and all.
    if (u.username || u.password) throw new TypeError(`webhook url for ${u.host} must not carry credentials (the signature authenticates recur)`);
    this.name = o.name ?? webhookSinkName(u);
  }

  async deliver(p: AlertPayload): Promise<void> {
    const body = JSON.stringify(p);
    const id = `${p.episode_id}.${p.version}`;
    const ts = Math.floor(this.now() / 1000);
    let res: Response;
    try {
      res = await fetch(this.o.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'recur-alerts',
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': signWebhook(this.key, id, ts, body),
        },
        body,
      });
    } catch (err) {
      // fetch says "fetch failed" for every network failure; the cause says which (a refused connection, a name
      // that does not resolve, TLS). A port fetch never connects to (bad port) is a configuration error, for good.
      const why = networkCause(err);
      throw new SinkError(`webhook ${this.name} unreachable: ${errorMessage(err)}${why ? ` (${why})` : ''}`, { retriable: why !== 'bad port', cause: err });
    }
    // Read the body so the connection can be reused; its content is not needed.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return;
    const retriable = res.status === 408 || res.status === 429 || res.status >= 500;
    const after = retriable ? retryAfterMs(res.headers.get('retry-after'), this.now()) : undefined;
    throw new SinkError(`webhook ${this.name} answered ${res.status}`, {
      retriable,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    });
  }
}

/** The code (or short message) of a failed fetch's cause: ECONNREFUSED, ENOTFOUND, CERT_HAS_EXPIRED, bad port. */
export function networkCause(err: unknown): string | null {
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (!cause || typeof cause !== 'object') return null;
  if (typeof cause.code === 'string' && /^[A-Z0-9_]{2,64}$/.test(cause.code)) return cause.code;
  return typeof cause.message === 'string' && cause.message.length <= 64 && !/[/?@]/.test(cause.message) ? cause.message : null;
}
