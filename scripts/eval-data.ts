// Where the evaluation data lives (Banking77, NAB series: real public sets, not shipped in this repository):
// RECUR_EVAL_DATA, else ../shared/data beside the repository (as on the machine the figures were measured on).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;

/** `rel` under the evaluation data directory; a clear error naming the place looked at when it is missing. */
export function evalData(rel: string): string {
  const dir = process.env['RECUR_EVAL_DATA'] ?? join(ROOT, '../shared/data');
  const path = join(dir, rel);
  if (!existsSync(path)) {
    throw new Error(`evaluation data ${rel} not found in ${dir}: set RECUR_EVAL_DATA to the directory holding banking77/ and nab-dev/`);
  }
  return path;
}
