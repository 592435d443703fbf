// Regenerates the checked-in JSON Schemas from the zod source of truth: `npm run schemas`.
// src/events/schema.test.ts fails when the checked-in file and the zod schema disagree.
import { writeFileSync } from 'node:fs';
import { caseEventJsonSchema } from '../src/events/schema.js';

const file = new URL('../schemas/case-event.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(caseEventJsonSchema(), null, 2)}\n`);
process.stderr.write(`wrote ${file.pathname}\n`);
