// Regenerates schemas/trend-alert.schema.json from the zod source of truth (src/sinks/payload.ts):
// `npx tsx scripts/gen-alert-schema.ts`. src/sinks/payload.test.ts fails when they disagree.
import { writeFileSync } from 'node:fs';
import { alertPayloadJsonSchema } from '../src/sinks/payload.js';

const file = new URL('../schemas/trend-alert.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(alertPayloadJsonSchema(), null, 2)}\n`);
process.stderr.write(`wrote ${file.pathname}\n`);
