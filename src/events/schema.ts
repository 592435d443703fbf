import { z } from 'zod';

/** Hard bounds of the contract; ingestion may enforce tighter ones from config. */
export const LIMITS = {
  idChars: 256,
  descriptionChars: 16_000,
  subjectChars: 1_000,
  shortFieldChars: 256,
  languageChars: 35,
  tags: 50,
} as const;

/** Inclusive bounds of the numeric fields (nps is also a whole number). */
export const RANGES = {
  csat: [1, 5],
  nps: [0, 10],
  effort: [1, 7],
  handle_seconds: [0, 86_400 * 30],
  cost: [0, 1_000_000],
} as const;

/**
 * Event times the store can hold and the pipeline can reason about: from 1970 up to (not including) 2100.
 * An ISO time outside it (year 0000, 9999 in another zone) is well-formed, but ClickHouse refuses it and
 * the whole batch with it (or wraps it round to another year), so it is a schema violation here.
 */
export const EVENT_TIME_RANGE_MS = [Date.UTC(1970, 0, 1), Date.UTC(2100, 0, 1)] as const;

export function eventTimeInRange(iso: string): boolean {
  // Years 1971–2098 are inside whatever the zone: no parse for nearly every event (it runs per event).
  let year = 0;
  for (let i = 0; i < 4; i++) {
    const d = iso.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return false;
    year = year * 10 + d;
  }
  if (year > 1970 && year < 2099) return true;
  const t = Date.parse(iso);
  return t >= EVENT_TIME_RANGE_MS[0] && t < EVENT_TIME_RANGE_MS[1];
}

const ranged = (k: keyof typeof RANGES) => z.number().min(RANGES[k][0]).max(RANGES[k][1]);

export const CHANNELS = ['phone', 'email', 'chat', 'social', 'web', 'other'] as const;
export const EVENT_TYPES = ['opened', 'message', 'resolved', 'reopened', 'survey'] as const;

/** Ids are trimmed: " EV-1 " is "EV-1", and one of whitespace alone is refused (the pattern says so to JSON Schema validators). */
const id = z.string().trim().min(1, { abort: true }).max(LIMITS.idChars).regex(/\S/);
const TRIMMED = 'Leading and trailing whitespace is trimmed (" EV-1 " and "EV-1" are one id); whitespace alone is refused';
const short = z.string().max(LIMITS.shortFieldChars);

/**
 * The case-event contract: the single source of truth. `schemas/case-event.schema.json` is generated
 * from it (`npm run schemas`) and a test fails when the two disagree. Unknown fields are kept
 * (loose object) and land in raw storage as `extra`.
 */
export const caseEventSchema = z
  .looseObject({
    event_id: id.describe(`Idempotency key of this event. ${TRIMMED}`),
    case_id: id.describe(`All messages and channels of one conversation share it. ${TRIMMED}`),
    customer_id: id.describe(`Who wrote: distinct customers gate trend alerts. ${TRIMMED}`).optional(),
    channel: z.enum(CHANNELS),
    occurred_at: z.iso
      .datetime({ offset: true })
      .refine(eventTimeInRange, 'must fall in 1970-01-01T00:00:00Z … 2099-12-31T23:59:59.999Z')
      .describe('Event time, ISO-8601 with zone, from 1970 up to (not including) 2100'),
    description: z.string().min(1).max(LIMITS.descriptionChars).describe('Free text of the issue'),
    subject: z.string().max(LIMITS.subjectChars).optional(),
    product: short.optional(),
    category: short.optional(),
    tags: z.array(short).max(LIMITS.tags).optional(),
    language: z.string().max(LIMITS.languageChars).optional(),
    type: z.enum(EVENT_TYPES).optional(),
    csat: ranged('csat').optional(),
    nps: z.number().int().min(RANGES.nps[0]).max(RANGES.nps[1]).optional(),
    effort: ranged('effort').optional(),
    handle_seconds: ranged('handle_seconds').optional(),
    cost: ranged('cost').optional(),
  })
  .describe('recur case event');

export type CaseEvent = z.infer<typeof caseEventSchema>;
export type Channel = (typeof CHANNELS)[number];

export function caseEventJsonSchema(): unknown {
  return {
    $id: 'https://recur.dev/schemas/case-event.schema.json',
    ...z.toJSONSchema(caseEventSchema, { target: 'draft-2020-12' }),
  };
}
