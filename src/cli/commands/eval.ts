import { writeFileSync } from 'node:fs';
import { configFrom, int, parse, print, str, UsageError } from '../args.js';
import { createEmbedder, modelDirFor } from '../../text/embed/index.js';
import type { CommandContext } from '../main.js';
import { evalClustering } from '../../eval/index.js';

const HELP = `usage: recur eval clustering --input FILE.csv --text-column C --label-column L
                             [--k N|auto] [--mode batch|online] [--delimiter ,|tab]
                             [--assignments OUT.csv] [--seed N] [--embedder none|bge-small|minilm] [--json]

Scores recur's clustering against your own labelled data. The text is normalised and PII-masked as in
the pipeline; labels are used only for scoring, never for clustering. Prints one JSON object:
docs, clusters, nmi, ari, acc (Hungarian-matched accuracy), seconds. NMI grows with the number of
clusters, so read it beside "clusters". --assignments writes row,cluster for every input row, in order.
  --mode batch   TF-IDF → LSA → neighbour smoothing → spherical k-means (K given, or auto)
  --mode online  the pipeline's single pass in file order, no K (its own threshold)
  --embedder     cluster by meaning with an offline sentence-embedding model fetched by
                 \`npm run model:fetch\` (default: cluster.embedder, 'none' = lexical)`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    input: { type: 'string' },
    'text-column': { type: 'string' },
    'label-column': { type: 'string' },
    k: { type: 'string' },
    mode: { type: 'string' },
    delimiter: { type: 'string' },
    assignments: { type: 'string' },
    seed: { type: 'string' },
    embedder: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values['help'] || positionals[0] !== 'clustering') {
    print(HELP);
    return values['help'] ? 0 : 2;
  }
  const input = str(values, 'input');
  const textColumn = str(values, 'text-column');
  const labelColumn = str(values, 'label-column');
  if (!input || !textColumn || !labelColumn) throw new UsageError('--input, --text-column and --label-column are required');
  const mode = str(values, 'mode') ?? 'batch';
  if (mode !== 'batch' && mode !== 'online') throw new UsageError(`--mode takes batch or online, got "${mode}"`);
  const kRaw = str(values, 'k') ?? 'auto';
  const k = kRaw === 'auto' ? 'auto' : /^\d{1,9}$/.test(kRaw) ? Number(kRaw) : NaN;
  if (k !== 'auto' && (!Number.isInteger(k) || k < 2)) throw new UsageError(`--k takes a whole number ≥ 2 or auto, got "${kRaw}"`);
  if (mode === 'online' && str(values, 'k') !== undefined) throw new UsageError('--k applies to --mode batch; online mode finds its own clusters');
  const d = str(values, 'delimiter');
  const delimiter = d === undefined ? undefined : d === 'tab' || d === '\\t' ? '\t' : d;
  if (delimiter !== undefined && delimiter.length !== 1) throw new UsageError(`--delimiter takes one character or "tab", got "${d}"`);
  const seed = int(values, 'seed', { min: 0, max: 0xffffffff });
  const config = configFrom(values, ctx.env);
  const kind = str(values, 'embedder') ?? config.cluster.embedder;
  if (kind !== 'none' && kind !== 'bge-small' && kind !== 'minilm') throw new UsageError(`--embedder takes none, bge-small or minilm, got "${kind}"`);
  const made = kind === 'none' ? null : await createEmbedder({ kind, modelDir: modelDirFor(kind, config.cluster.modelDir) });
  if (made && !made.embedder) {
    process.stderr.write(`recur: embedder ${kind} unavailable: ${made.reason}\n`);
    return 1;
  }
  let out;
  try {
    out = await evalClustering({
      input,
      textColumn,
      labelColumn,
      k,
      mode,
      ...(delimiter !== undefined ? { delimiter } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(made?.embedder ? { embedder: made.embedder } : {}),
    });
  } catch (err) {
    // A file that cannot be opened is named as every command names it (exit 1); a file that is not the CSV asked for is a usage error.
    if (err instanceof RangeError || (err as Error).name === 'CsvError') throw new UsageError((err as Error).message);
    throw err;
  }
  const file = str(values, 'assignments');
  if (file) writeFileSync(file, `row,cluster\n${out.assignments.map((c, i) => `${i},${c}`).join('\n')}\n`);
  print(values['json'] ? JSON.stringify(out.result) : out.result);
  return 0;
}
