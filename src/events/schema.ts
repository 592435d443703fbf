import { z } from 'zod';

/** Hard bounds of the contract; ingestion may enforce tighter ones from config. */
export const LIMITS = {
  idChars: 256,
  descriptionChars: 16_000,
  subjectChars: 1_000,
  shortFieldChars: 256,
  tags: 50,
} as const;

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
    language: z.string().max(35).optional(),
    type: z.enum(EVENT_TYPES).optional(),
    csat: z.number().min(1).max(5).optional(),
    nps: z.number().int().min(0).max(10).optional(),
    effort: z.number().min(1).max(7).optional(),
    handle_seconds: z.number().min(0).max(86_400 * 30).optional(),
    cost: z.number().min(0).max(1_000_000).optional(),
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
