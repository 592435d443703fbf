export interface RetryOptions {
  isRetriable(err: unknown): boolean;
  shouldStop(): boolean;
  onRetry(err: unknown, attempt: number, delayMs: number): Promise<void> | void;
  stopError(): Error;
  initialMs?: number;
  maxMs?: number;
  /** Injected for tests; defaults to Math.random. */
  random?: () => number;
}

/**
 * Retries a retriable failure forever with capped exponential backoff and full jitter, until it works,
 * fails for good, or the caller stops. Waiting is in short slices so a stop is seen within 250 ms.
 */
export async function retryUntil<T>(fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const initial = o.initialMs ?? 200;
  const max = o.maxMs ?? 10_000;
  const random = o.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!o.isRetriable(err)) throw err;
      if (o.shouldStop()) throw o.stopError();
      const delay = Math.round(Math.min(max, initial * 2 ** Math.min(attempt - 1, 16)) * (0.5 + random() / 2));
      await o.onRetry(err, attempt, delay);
      const until = Date.now() + delay;
      while (Date.now() < until) {
        if (o.shouldStop()) throw o.stopError();
        await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
      }
    }
  }
}
