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

const ranged = (k: keyof typeof RANGES) => z.number().min(RANGES[k][0]).max(RANGES[k][1]);

export const CHANNELS = ['phone', 'email', 'chat', 'social', 'web', 'other'] as const;
export const EVENT_TYPES = ['opened', 'message', 'resolved', 'reopened', 'survey'] as const;

const id = z.string().trim().min(1).max(LIMITS.idChars);
const short = z.string().max(LIMITS.shortFieldChars);

/**
 * The case-event contract: the single source of truth. `schemas/case-event.schema.json` is generated
 * from it (`npm run schemas`) and a test fails when the two disagree. Unknown fields are kept
 * (loose object) and land in raw storage as `extra`.
 */
export const caseEventSchema = z
  .looseObject({
    event_id: id.describe('Idempotency key of this event'),
    case_id: id.describe('All messages and channels of one conversation share it'),
    customer_id: id.optional(),
    channel: z.enum(CHANNELS),
    occurred_at: z.iso.datetime({ offset: true }).describe('Event time, ISO-8601 with zone'),
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
