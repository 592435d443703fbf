import { readFileSync, writeFileSync } from 'node:fs';
import { configFrom, parse, print, str, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { csvField } from '../table.js';
import { parseCsv } from '../../eval/csv.js';
import { pipelineDetectorSettings, resolveTrendConfig } from '../../trends/config.js';
import { scoreSeries, type ScoreSeriesOptions } from '../../trends/index.js';

const HELP = `usage: recur detect --input SERIES.csv [--output SCORES.csv] [--tz ZONE] [--pipeline [--config FILE]] [--json]

Reads timestamp,value rows (one count per bucket, any fixed bucket size) and writes the same rows with
an anomaly_score column in [0,1], computed online in order with no look-ahead, by the same detector code
the pipeline runs on every cluster (the Numenta Anomaly Benchmark's detector interface). The bucket is the
series' smallest step; a longer one is buckets with no row, read as counts of 0 (a series exported without
its empty buckets), and must be a whole number of buckets. A row scores in
full when a surge starts or its surprise grows 10% past the last 24 hours' peak, a quarter otherwise.
Without --output the scored CSV goes to stdout.

By default the detector is set for arbitrary series (seenTailFactor 0.1): a burst about as surprising as
ones the series has shown before has its surprise capped at -log10(0.1 x how often it has shown them),
so one that comes back every few days scores about 0.5, not near 1.
--pipeline scores with the detector settings recur run uses on a cluster's counts: that cap off, NB2
noise (variancePower 2), weekSignificance 6, the pipeline's half-lives, and the trends settings of the
configuration (--config FILE, RECUR_* variables: trends.detector, trends.episode.updateMinGrowth,
trends.timeZone unless --tz). Alert gates (customers, minimum cases) do not apply: a series has none.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(
    argv,
    { input: { type: 'string' }, output: { type: 'string' }, tz: { type: 'string' }, pipeline: { type: 'boolean' }, json: { type: 'boolean' } },
    false,
  );
  if (values['help']) return print(HELP), 0;
  const input = str(values, 'input');
  if (!input) throw new UsageError('--input SERIES.csv is required');
  // Only --pipeline reads the configuration: a --config given without it would be silently ignored.
  if (str(values, 'config') && !values['pipeline']) throw new UsageError('--config applies to detect only with --pipeline');
  const options: ScoreSeriesOptions = {};
  if (values['pipeline']) {
    const trends = resolveTrendConfig(configFrom(values, ctx.env).trends);
    // As the pipeline resolves them, except bucketMinutes: the series' own step, not the configured bucket.
    options.detector = pipelineDetectorSettings(trends);
    options.minGrowth = trends.episode.updateMinGrowth;
    options.tz = trends.timeZone;
  }
  const tz = str(values, 'tz');
  if (tz) options.tz = tz;
  const table = parseCsv(readFileSync(input, 'utf8'));
  const header = table[0] ?? [];
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf('value');
  if (ti < 0 || vi < 0) throw new UsageError(`${input} needs a header with timestamp and value columns, got: ${header.join(',')}`);
  const data = table.slice(1).filter((r) => r.length > 1 || (r[0] ?? '') !== '');
  // Data rows are numbered from 1, after the header, blank lines not counted (as scoreSeries numbers them when
  // it refuses a timestamp: unparseable, not after the row before it, or off the series' bucket).
  const rows = data.map((r, i) => {
    const raw = (r[vi] ?? '').trim();
    const value = Number(raw);
    // Number('') is 0: an empty cell would pass for a quiet bucket.
    if (raw === '' || !Number.isFinite(value)) throw new UsageError(`${input} data row ${i + 1}: value "${r[vi] ?? ''}" is not a number`);
    return { timestamp: r[ti] ?? '', value };
  });
  let scores: number[];
  try {
    scores = scoreSeries(rows, options);
  } catch (err) {
    if (err instanceof RangeError) throw new UsageError(`${input}: ${err.message}`);
    throw err;
  }
  const out = [[...header, 'anomaly_score'].map(csvField).join(',')];
  data.forEach((r, i) => out.push([...r.map(csvField), scores[i]!.toFixed(6)].join(',')));
  const text = `${out.join('\n')}\n`;
  const output = str(values, 'output');
  if (output) writeFileSync(output, text);
  else process.stdout.write(text);
  if (values['json'] && output) print({ rows: rows.length, output, alerts: scores.filter((s) => s >= 0.5).length });
  return 0;
}
