// Cost of one contact: the event's own cost, else handle time × hourly rate, else a per-channel price.
import type { CostConfig } from './rules.js';

export interface CostedContact {
  channel: string;
  handle_seconds?: number | null;
  cost?: number | null;
}

const finite = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

export function contactCost(e: CostedContact, cfg: CostConfig): number {
  if (finite(e.cost)) return e.cost;
  if (cfg.hourlyRate !== undefined && finite(e.handle_seconds)) return (e.handle_seconds * cfg.hourlyRate) / 3600;
  const table = cfg.perContact as Record<string, number>;
  return Object.hasOwn(table, e.channel) ? table[e.channel]! : cfg.perContact.other;
}
