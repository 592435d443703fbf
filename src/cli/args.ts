import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/index.js';
import { migrate, openStore, type Store } from '../store/index.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes: they map onto config keys (flags win over file and env). */
export const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
  'clickhouse-url': { type: 'string' },
  'data-dir': { type: 'string' },
  brokers: { type: 'string' },
  topic: { type: 'string' },
  group: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** `positionals`: whether arguments besides options are taken, or at most how many (more are a usage error, not ignored). */
export function parse(argv: string[], options: Options, positionals: boolean | number = true): Parsed {
  let r;
  try {
    r = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: positionals !== false, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (typeof positionals === 'number' && r.positionals.length > positionals) {
    throw new UsageError(`unexpected argument${r.positionals.length - positionals > 1 ? 's' : ''} ${r.positionals.slice(positionals).map((a) => `"${a}"`).join(' ')}`);
  }
  return { values: r.values as Parsed['values'], positionals: r.positionals };
}

export function warnOnStderr(message: string): void {
  process.stderr.write(`recur: ${message}\n`);
}

/** `onWarning` receives what the configuration warns of (an unknown RECUR_* variable); by default it goes to stderr. */
export function configFrom(
  values: Parsed['values'],
  env: Record<string, string | undefined>,
  opts: { onWarning?: (message: string) => void } = {},
): Config {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  return loadConfig({
    ...(str('config') ? { file: str('config')! } : {}),
    env,
    overrides: {
      'log.level': str('log-level'),
      'clickhouse.url': str('clickhouse-url'),
      'clickhouse.dataDir': str('data-dir'),
      'kafka.brokers': str('brokers')?.split(',').map((s) => s.trim()),
      'kafka.topic': str('topic'),
      'kafka.groupId': str('group'),
    },
    onWarning: opts.onWarning ?? warnOnStderr,
  });
}

export function str(values: Parsed['values'], key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A whole number in decimal digits within [min, max] (Number() alone took "" as 0 and "0x50" as 80, and a
 * --limit past 2^32 wrapped round in its UInt32 query parameter).
 */
export function int(values: Parsed['values'], key: string, range: { min?: number; max?: number } = {}): number | undefined {
  const v = str(values, key);
  if (v === undefined) return undefined;
  const min = range.min ?? Number.MIN_SAFE_INTEGER;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  const n = /^-?\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
    const bounds = range.min !== undefined && range.max !== undefined ? ` from ${min} to ${max}` : range.min !== undefined ? ` from ${min}` : range.max !== undefined ? ` up to ${max}` : '';
    throw new UsageError(`--${key} takes a whole number${bounds}, got "${v}"`);
  }
  return n;
}

/** "7d", "24h", "30m" → milliseconds. */
export function duration(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/.exec(v.trim());
  if (!m) throw new UsageError(`--${flag} takes a duration like 30m, 24h, 7d or 2w, got "${v}"`);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
  return Number(m[1]) * unit;
}

export function print(data: unknown): void {
  process.stdout.write(typeof data === 'string' ? `${data}\n` : `${JSON.stringify(data, null, 2)}\n`);
}

/**
 * Opens the configured store, applies pending migrations, runs `fn`, always closes. A writer (`recur run`) also sets
 * the configured dedup window on the tables.
 */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>, opts: { writer?: boolean } = {}): Promise<T> {
  const store = await openStore(config.clickhouse);
  try {
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow, setDedupWindow: opts.writer === true });
    return await fn(store);
  } finally {
    await store.close();
  }
}
