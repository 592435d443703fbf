// A small Standard Webhooks receiver for recur's alerts: what users can run (or copy) to accept them,
// and what the integration tests deliver to over real HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AlertPayload } from './payload.js';
import { verifyWebhook, webhookKey, type VerifyFailure } from './signing.js';

export interface WebhookReceiverOptions {
  secret: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Only this path accepts alerts; others answer 404. Default '/'. */
  path?: string;
  toleranceSeconds?: number;
  maxBodyBytes?: number;
  /** Clock in ms, injected for tests. */
  now?: () => number;
  /** How many of the newest accepted and refused deliveries `accepted` and `refused` keep. Default 10,000. */
  keepLast?: number;
  /**
   * Called once per accepted delivery (a retry of an accepted id is acknowledged, not passed on again), and
   * awaited before the answer: when it throws or rejects, the sender is answered 500, and its retry of the
   * same id is passed on again.
   */
  onAlert?: (payload: AlertPayload, id: string) => void | Promise<void>;
}

/** up: serve; unavailable: answer 503; reset: drop each connection without an answer. */
export type ReceiverMode = 'up' | 'unavailable' | 'reset';

export type RefusalReason = VerifyFailure | 'down' | 'not_found' | 'too_large' | 'handler_failed' | 'in_progress';

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly accepted: ReadonlyArray<{ id: string; payload: AlertPayload }>;
  readonly refused: ReadonlyArray<{ id?: string; reason: RefusalReason; status: number }>;
  setMode(mode: ReceiverMode): void;
  /** Stops listening (senders get connection refused) until start(). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Accepted ids, kept for twice the tolerance: anything older fails the timestamp check anyway. */
class SeenIds {
  private readonly at = new Map<string, number>();
  constructor(
    private readonly keepSeconds: number,
    private readonly nowSeconds: () => number,
  ) {}
  has(id: string): boolean {
    return this.at.has(id);
  }
  delete(id: string): void {
    this.at.delete(id);
  }
  add(id: string): void {
    const now = this.nowSeconds();
    this.at.set(id, now);
    if (this.at.size % 1024 === 0) {
      for (const [k, t] of this.at) if (now - t > this.keepSeconds) this.at.delete(k);
    }
  }
}

const STATUS: Record<VerifyFailure, number> = { bad_signature: 401, stale_timestamp: 400, malformed: 400, replayed: 200 };

export async function createWebhookReceiver(o: WebhookReceiverOptions): Promise<WebhookReceiver> {
  webhookKey(o.secret); // fail fast on a bad secret
  const host = o.host ?? '127.0.0.1';
  const path = o.path ?? '/';
  const tolerance = o.toleranceSeconds ?? 300;
  const maxBody = o.maxBodyBytes ?? 1024 * 1024;
  const now = o.now ?? Date.now;
  const nowSeconds = () => Math.floor(now() / 1000);
  const seen = new SeenIds(2 * tolerance, nowSeconds);
  const accepted: { id: string; payload: AlertPayload }[] = [];
  const refused: { id?: string; reason: RefusalReason; status: number }[] = [];
  const keep = o.keepLast ?? 10_000;
  // The newest `keep` of each, so a long-running receiver (or a scan of it) does not grow without bound.
  const remember = <T>(list: T[], item: T) => {
    list.push(item);
    if (list.length > keep) list.splice(0, list.length - keep);
  };
  let mode: ReceiverMode = 'up';
  /** Ids whose handler is running. */
  const handling = new Set<string>();

  const answer = (res: ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, reason: RefusalReason, status: number, id?: string) => {
    remember(refused, { reason, status, ...(id !== undefined ? { id } : {}) });
    answer(res, status, { status: 'refused', reason });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode === 'unavailable') return refuse(res, 'down', 503);
    // A target URL cannot parse (\`POST http://[\`, which Node's parser lets through) is no path of ours: it threw here,
    // outside any handler, and ended the process.
    if (req.method !== 'POST' || targetPath(req.url) !== path) return refuse(res, 'not_found', 404);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= maxBody) chunks.push(c);
      else if (!tooLarge) {
        // Answered at once, and the rest not read: the connection closes after the answer.
        tooLarge = true;
        res.setHeader('connection', 'close');
        refuse(res, 'too_large', 413);
        req.unpipe();
        req.pause();
        res.on('finish', () => req.socket.destroy());
      }
    });
    req.on('end', () => {
      if (tooLarge) return;
      // A retry while the first delivery's handler still runs (a handler slower than the sender's timeout): not
      // a replay yet, as that handler may fail; the sender is told to come back (a 5xx it retries).
      const inFlight = req.headers['webhook-id'];
      if (typeof inFlight === 'string' && handling.has(inFlight)) return refuse(res, 'in_progress', 503, inFlight);
      const r = verifyWebhook({ secret: o.secret, headers: req.headers, body: Buffer.concat(chunks), nowSeconds: nowSeconds(), toleranceSeconds: tolerance, seen });
      if (!r.ok) {
        // A replay of an accepted id is acknowledged (2xx) so a sender whose ack was lost stops retrying,
        // but it is not processed again.
        if (r.reason === 'replayed') {
          remember(refused, { id: r.id!, reason: 'replayed' as const, status: 200 });
          return answer(res, 200, { status: 'duplicate' });
        }
        return refuse(res, r.reason, STATUS[r.reason], r.id);
      }
      const id = r.id;
      const payload = r.payload;
      handling.add(id);
      const handled = (async () => o.onAlert?.(payload, id))();
      handled.then(
        () => {
          handling.delete(id);
          remember(accepted, { id, payload });
          answer(res, 200, { status: 'accepted' });
        },
        () => {
          // Not taken: the sender retries it (5xx), and the retry is not a replay of something accepted.
          handling.delete(id);
          seen.delete(id);
          refuse(res, 'handler_failed', 500, id);
        },
      );
    });
    req.on('error', () => res.destroy());
  };

  const server: Server = createServer(handle);
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(o.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: `http://${host}:${port}${path}`,
    port,
    accepted,
    refused,
    setMode: (m) => {
      mode = m;
    },
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

/** The path of a request's target, or null when it does not parse as a URL. */
function targetPath(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://x').pathname;
  } catch {
    return null;
  }
}
