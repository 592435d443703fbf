#!/usr/bin/env node
// The recur CLI: commands are declared here and imported lazily; only this file prints fatal errors
// and calls process.exit (0 ok, 1 failure, 2 bad usage or config).
import { readFileSync } from 'node:fs';
import { PipelineError } from '../errors.js';
import { UsageError } from './args.js';

export interface CommandContext {
  env: Record<string, string | undefined>;
  /** Registers work to run on SIGTERM/SIGINT; the process exits after it or after 30 s. */
  onShutdown(fn: () => Promise<void>, says?: string): void;
}

type Command = { summary: string; load: () => Promise<{ default: (argv: string[], ctx: CommandContext) => Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  run: { summary: 'consume case events (Kafka, or --input FILE.ndjson / -) into ClickHouse', load: () => import('./commands/run.js') },
  demo: { summary: 'run the shipped sample stream on embedded chDB and print what recur found', load: () => import('./commands/demo.js') },
  rerun: { summary: 're-cluster a date range with the batch re-fit; ids kept, lineage recorded', load: () => import('./commands/rerun.js') },
  migrate: { summary: 'apply ClickHouse migrations (also done on start)', load: () => import('./commands/migrate.js') },
  clusters: { summary: 'list recurring problems, largest first', load: () => import('./commands/clusters.js') },
  show: { summary: 'one cluster: label, terms, examples, volume', load: () => import('./commands/show.js') },

  trends: { summary: 'trend episodes (new, spike, growth, regression), most severe first', load: () => import('./commands/trends.js') },
  affected: { summary: 'customers and cases of a cluster, to notify proactively (csv|json)', load: () => import('./commands/affected.js') },
  status: { summary: 'set or show cluster status (open → … → resolved)', load: () => import('./commands/status.js') },
  cost: { summary: 'charge-back: cost of unresolved problems by owner or cluster', load: () => import('./commands/cost.js') },
  owner: { summary: 'pin an owner team to a cluster (overrides routing rules)', load: () => import('./commands/owner.js') },
  serve: { summary: 'dashboard, JSON API, /metrics and /healthz over HTTP', load: () => import('./commands/serve.js') },
  eval: { summary: 'eval clustering: score clustering on your own labelled CSV (NMI, ARI, ACC)', load: () => import('./commands/eval.js') },
  detect: { summary: 'score a timestamp,value series for anomalies (NAB interface)', load: () => import('./commands/detect.js') },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'recur — finds the problems customers keep coming back with',
    '',
    'usage: recur <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'options for every command:',
    '  --config FILE          YAML or JSON config (defaults → file → RECUR_* env → flags)',
    '  --clickhouse-url URL   ClickHouse server; unset: embedded chDB in --data-dir',
    '  --data-dir DIR         embedded chDB data directory (./.recur/data; one process at a time)',
    '  --brokers LIST         Kafka brokers, comma-separated (127.0.0.1:9092)',
    '  --log-level LEVEL      fatal|error|warn|info|debug|trace|silent',
    '  -h, --help             help for a command',
    '',
    `recur ${version()} · run "recur <command> --help" for a command's options`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-V') {
    const { describeModels } = await import('./models.js');
    process.stdout.write(`recur ${version()}\n${await describeModels(process.env)}\n`);
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command "${name}"; run "recur --help"`);
  const shutdown: (() => Promise<void>)[] = [];
  /** What stopping means for the running command's data, said on the signal (the last one registered). */
  let says = '';
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    if (!process.env['RECUR_RELAYED_STDIN']) process.stderr.write(`recur: ${sig}, stopping${says ? `: ${says}` : ''} (30 s at most)\n`);
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    void Promise.allSettled(shutdown.map((fn) => fn()));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const mod = await cmd.load();
  return mod.default(rest, {
    env: process.env,
    onShutdown: (fn, what) => {
      shutdown.push(fn);
      if (what) says = what;
    },
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Lingering sockets (kafkajs, HTTP agents) must not keep a finished command alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err instanceof PipelineError && err.code === 'config_invalid')) {
      process.stderr.write(`recur: ${err.message}\n`);
      process.exit(2);
    }
    const msg = err instanceof PipelineError ? `${err.stage}: ${err.message}` : fileError(err) ?? (err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.stderr.write(`recur: ${msg}\n`);
    process.exit(1);
  },
);

/** A file that cannot be opened (a mistyped --input, say) is named plainly, without a stack trace. */
function fileError(err: unknown): string | undefined {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory' };
  // Only opening and reading: a program that cannot be started (spawn ENOENT) is not a missing input file.
  if (!(err instanceof Error) || e.code === undefined || !(e.code in reasons) || (e.syscall !== undefined && !/^(open|read|stat|lstat|scandir|access)$/.test(e.syscall))) return undefined;
  return typeof e.path === 'string' ? `cannot open ${e.path}: ${reasons[e.code]}` : e.message;
}

