import type { Config } from '../config/index.js';
import { PipelineError } from '../errors.js';

/**
 * Fault injection at the store boundary and the commit point, driven by `testing.*` config, so the
 * fault suite can kill the process inside each crash window. All inert by default.
 */
export interface FaultHooks {
  beforeInsert(table: string): void;
  afterBatchStored(): void;
}

export function createFaultHooks(t: Config['testing'], now: () => number = Date.now): FaultHooks | undefined {
  if (t.crashAt === 'none' && t.failWritesForMs === 0) return undefined;
  const failUntil = now() + t.failWritesForMs;
  let batch = 1;
  let tablesThisBatch = 0;
  const die = () => process.kill(process.pid, 'SIGKILL');
  return {
    beforeInsert(table) {
      if (now() < failUntil) throw new PipelineError('store_unavailable', 'store', `injected write failure (${table})`, { retriable: true });
      if (table === 'ingest_ledger') return;
      tablesThisBatch++;
      if (batch !== t.crashOnBatch) return;
      if (t.crashAt === 'before_insert' && tablesThisBatch === 1) die();
      if (t.crashAt === 'during_insert' && tablesThisBatch === 2) die();
    },
    afterBatchStored() {
      if (batch === t.crashOnBatch && t.crashAt === 'after_insert') die();
      batch++;
      tablesThisBatch = 0;
    },
  };
}
