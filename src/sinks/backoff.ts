// Waiting between delivery attempts: capped exponential backoff with full jitter, abortable sleep.

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Full jitter (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [0, min(cap, base·2^n)). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number, hintMs?: number): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  const jittered = Math.floor(random() * ceiling);
  return hintMs === undefined ? jittered : Math.max(jittered, Math.min(hintMs, maxMs));
}
