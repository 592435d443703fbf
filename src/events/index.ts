// The case-event contract (zod, the source of truth for schemas/case-event.schema.json) and decoding:
// bytes → text → validated event, or a rejection with a reason. No I/O here.
export * from './schema.js';
export * from './decode.js';
