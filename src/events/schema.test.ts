import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { caseEventJsonSchema } from './schema.js';

describe('case-event contract', () => {
  it('schemas/case-event.schema.json is generated from the zod schema (run `npm run schemas`)', () => {
    const checkedIn = JSON.parse(readFileSync(new URL('../../schemas/case-event.schema.json', import.meta.url), 'utf8'));
    expect(checkedIn).toEqual(caseEventJsonSchema());
  });

  it('requires the identity, channel, time and description fields', () => {
    const schema = caseEventJsonSchema() as { required: string[] };
    expect(schema.required.sort()).toEqual(['case_id', 'channel', 'description', 'event_id', 'occurred_at']);
  });
});
