// Shared by the sinks' unit tests and tests/integration/webhook.test.ts.
import { openEpisode, type TrendEvent } from '../trends/episodes.js';
import { buildAlertPayload, type AlertPayload } from './payload.js';

export const HOUR = 3_600_000;
export const T0 = Date.UTC(2024, 4, 6, 9); // 2024-05-06T09:00Z

export function trendEvent(clusterId: string, type: TrendEvent['type'] = 'opened', updatedAt = T0 + HOUR): TrendEvent {
  const ep = openEpisode(clusterId, 'spike', T0, { bucket: T0, now: T0 + HOUR, observed: 14, expected: 3.2, score: 7.5, customers: 11 });
  ep.updatedAt = updatedAt;
  if (type === 'closed') {
    ep.status = 'closed';
    ep.closedAt = updatedAt;
  }
  return { type, episode: ep };
}

export function samplePayload(clusterId = 'c-42', type: TrendEvent['type'] = 'opened', updatedAt = T0 + HOUR): AlertPayload {
  return buildAlertPayload(trendEvent(clusterId, type, updatedAt), {
    cluster: {
      label: 'charged twice for one order',
      topTerms: ['charg', 'twice', 'order', 'refund'],
      examples: ['I was charged twice for the same order <ORDER_ID>, please refund', 'Double charge on my card <CARD>'],
      status: 'open',
    },
    totals: { cases: 14, customers: 12, channels: ['phone', 'chat', 'email'], cost: 71.5 },
    route: { owner: 'finance', reason: 'rule', rule: 0 },
    windowEndMs: T0 + HOUR,
    sentAtMs: updatedAt + 250,
  });
}
