import type { CaseEvent, Rejection } from '../events/index.js';
import { chTime, chTimeOf } from '../store/writer.js';

/** What the masker must provide (src/text/mask.ts). */
export type Masker = (text: string) => { text: string; hits: Record<string, number> };

export const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

export function maskCount(hits: Record<string, number>): number {
  let n = 0;
  for (const v of Object.values(hits)) n += v;
  return n;
}

export interface Located {
  topic: string;
  partition: number;
  offset: bigint;
}

/** `ingestedAt`: chTime of the ingestion time, printed once per chunk by the caller. */
export function caseEventRow(ev: CaseEvent, extra: Record<string, unknown>, at: Located, mask: Masker, ingestedAt: string) {
  const description = mask(ev.description);
  const subject = mask(ev.subject ?? '');
  const extraText = Object.keys(extra).length ? mask(JSON.stringify(extra)) : { text: '', hits: {} };
  return {
    maskedDescription: description.text,
    row: {
      event_id: ev.event_id,
      case_id: ev.case_id,
      customer_id: ev.customer_id ?? '',
      channel: ev.channel,
      event_type: ev.type ?? 'message',
      occurred_at: chTimeOf(ev.occurred_at),
      description: description.text,
      subject: subject.text,
      product: ev.product ?? '',
      category: ev.category ?? '',
      tags: (ev.tags ?? []).map((t) => mask(t).text),
      language: ev.language ?? '',
      csat: ev.csat ?? null,
      nps: ev.nps ?? null,
      effort: ev.effort ?? null,
      handle_seconds: ev.handle_seconds ?? null,
      cost: ev.cost ?? null,
      extra: extraText.text,
      pii_masked: Math.min(65535, maskCount(description.hits) + maskCount(subject.hits) + maskCount(extraText.hits)),
      source_topic: at.topic,
      source_partition: at.partition,
      source_offset: at.offset.toString(),
      ingested_at: ingestedAt,
    },
  };
}

/** Dead letters keep a masked, bounded copy of what arrived: PII is masked even in rejected input. */
export function deadLetterRow(rej: Rejection, value: Buffer | null, at: Located, mask: Masker, nowMs: number) {
  const bytes = value ?? Buffer.alloc(0);
  const head = bytes.subarray(0, MAX_DEAD_LETTER_PAYLOAD);
  return {
    source_topic: at.topic,
    source_partition: at.partition,
    source_offset: at.offset.toString(),
    reason_code: rej.code,
    reason: mask(rej.reason).text,
    payload: mask(head.toString('utf8')).text,
    payload_bytes: bytes.length,
    received_at: chTime(nowMs),
  };
}
