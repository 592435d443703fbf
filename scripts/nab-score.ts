// Runs the trends detector over NAB-format series (online) and prints NAB's standard-profile
// score per file and for the corpus. Usage: tsx scripts/nab-score.ts [DATA_DIR] [--detector JSON] [--min-growth G] [--json]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseTimestamp, scoreSeries, type ScoreSeriesOptions, type SeriesRow } from '../src/trends/index.js';
import { STANDARD_PROFILE, scoreCorpus, type NabFile } from '../src/trends/nab-scorer.js';
import { evalData } from './eval-data.js';

function readSeries(path: string): SeriesRow[] {
  const lines = readFileSync(path, 'utf8').trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  const ti = header.indexOf('timestamp');
  const vi = header.indexOf('value');
  if (ti < 0 || vi < 0) throw new Error(`${path}: expected timestamp,value header`);
  return lines.slice(1).map((l) => {
    const c = l.split(',');
    return { timestamp: c[ti]!, value: Number(c[vi]) };
  });
}

function main(): void {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const di = args.indexOf('--detector');
  // Detector settings to try (partial DetectorConfig as JSON), as bench:trends takes --config.
  const detector = di >= 0 ? (JSON.parse(args[di + 1]!) as ScoreSeriesOptions['detector']) : undefined;
  // The growth past an episode's peak that reports again (scoreSeries' minGrowth; 0 reports every new peak).
  const gi = args.indexOf('--min-growth');
  const minGrowth = gi >= 0 ? Number(args[gi + 1]) : undefined;
  const dir = args.find((a, i) => !a.startsWith('--') && (di < 0 || i !== di + 1) && (gi < 0 || i !== gi + 1)) ?? evalData('nab-dev');
  const windows = JSON.parse(readFileSync(join(dir, 'windows.json'), 'utf8')) as Record<string, [string, string][]>;
  const csvs = readdirSync(dir).filter((f) => f.endsWith('.csv')).sort();
  const started = performance.now();
  const files: NabFile[] = [];
  for (const f of csvs) {
    const key = Object.keys(windows).find((k) => basename(k) === f);
    if (!key) continue;
    const rows = readSeries(join(dir, f));
    files.push({
      name: f,
      timestamps: rows.map((r) => parseTimestamp(r.timestamp)),
      anomalyScores: scoreSeries(rows, { detector, ...(minGrowth === undefined ? {} : { minGrowth }) }),
      windows: windows[key]!.map(([a, b]) => [parseTimestamp(a), parseTimestamp(b)]),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const result = scoreCorpus(files, STANDARD_PROFILE);

  if (json) {
    process.stdout.write(`${JSON.stringify({ profile: 'standard', seconds, ...result })}\n`);
    return;
  }
  for (const r of result.files) {
    process.stdout.write(
      `${r.name.padEnd(28)} normalized ${r.normalized.toFixed(1).padStart(6)}  raw ${r.raw.toFixed(3).padStart(7)}  ` +
        `windows ${r.windows} tp ${r.tp} fp ${r.fp}\n`,
    );
  }
  process.stdout.write(
    `TOTAL standard profile: normalized ${result.normalized.toFixed(2)} (raw ${result.rawScore.toFixed(3)}, ` +
      `null ${result.nullScore}, perfect ${result.perfectScore}, threshold ${result.threshold.toFixed(4)}, ${seconds.toFixed(2)} s)\n`,
  );
}

main();
