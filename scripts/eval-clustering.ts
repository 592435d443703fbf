// Until `recur eval clustering` exists: npx tsx scripts/eval-clustering.ts --input F --text-column C
//   --label-column L [--k N|auto] [--mode batch|online] [--delimiter ,] — prints one JSON object.
import { parseArgs } from 'node:util';
import { evalClustering } from '../src/eval/index.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string' },
    'text-column': { type: 'string', default: 'text' },
    'label-column': { type: 'string', default: 'category' },
    k: { type: 'string', default: 'auto' },
    mode: { type: 'string', default: 'batch' },
    delimiter: { type: 'string' },
    seed: { type: 'string' },
  },
});
if (values.input === undefined || (values.mode !== 'batch' && values.mode !== 'online')) {
  process.stderr.write('usage: eval-clustering.ts --input FILE --text-column C --label-column L [--k N|auto] [--mode batch|online]\n');
  process.exit(2);
}
const k = values.k === 'auto' ? 'auto' : Number(values.k);
const { result } = await evalClustering({
  input: values.input,
  textColumn: values['text-column'],
  labelColumn: values['label-column'],
  k,
  mode: values.mode,
  ...(values.delimiter === undefined ? {} : { delimiter: values.delimiter === '\\t' ? '\t' : values.delimiter }),
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
});
process.stdout.write(JSON.stringify(result) + '\n');
