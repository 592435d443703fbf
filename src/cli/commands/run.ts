import { spawn } from 'node:child_process';
import { createReadStream, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { configFrom, parse, print, str, warnOnStderr, withStore } from '../args.js';
import type { CommandContext } from '../main.js';
import { createLogger } from '../log.js';
import { runJob } from '../../pipeline/job.js';
import { createSource } from '../../pipeline/wire.js';
import { startServer } from '../../serve/index.js';
import { readOnce } from '../../sources/index.js';
import { knownFileInputs, recordFileInput } from '../../store/index.js';

const HELP = `usage: recur run [--input FILE.ndjson | --input -] [--json]

Consumes case events from the Kafka topic (consumer group, offsets committed only after ClickHouse
acknowledged the rows), or from an NDJSON file / stdin, through the same pipeline: validate, mask PII,
cluster, store; invalid messages go to the dead-letter topic and table with a reason.
With --input it stops at the end of the input and prints a summary; from Kafka it runs until SIGTERM.

options:
  --input FILE|-   read NDJSON case events from FILE or stdin instead of Kafka
  --serve          also serve the dashboard, JSON API, /metrics and /healthz (serve.host:serve.port,
                   127.0.0.1:8470); in embedded mode this is how others read the data meanwhile
  --json           print the summary as JSON`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { input: { type: 'string' }, 'stdin-fd': { type: 'string' }, serve: { type: 'boolean' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const warnings: string[] = [];
  const config = configFrom(values, ctx.env, { onWarning: (m) => warnings.push(m) });
  // With embedded chDB, `--input -` runs in a child (relayStdin) that reads the configuration again: the
  // child is the one to warn about it.
  if (str(values, 'input') === '-' && !config.clickhouse.url) return relayStdin(argv, ctx);
  warnings.forEach(warnOnStderr);
  const log = createLogger(config.log.level);
  const stdinFd = str(values, 'stdin-fd');
  const input = stdinFd ? '-' : str(values, 'input');
  return withStore(config, async (store) => {
    const stdin = stdinFd ? readFd(Number(stdinFd)) : process.stdin;
    const setup = await createSource(config, log, input, stdin, { known: () => knownFileInputs(store.client), record: (f) => recordFileInput(store.client, f, Date.now()) });
    ctx.onShutdown(() => setup.source.stop(), stopping(setup.source.name));
    log.info({ source: setup.source.name, store: store.kind, location: store.location }, 'pipeline starting');
    const closers: (() => Promise<void>)[] = [];
    try {
      const summary = await runJob({
        config,
        log,
        store,
        source: setup.source,
        finite: input !== undefined,
        ...(setup.deadLetters ? { deadLetters: setup.deadLetters } : {}),
        ...(setup.producer ? { producer: setup.producer } : {}),
        onReady: async ({ assigner, trends, metrics, health, alerts }) => {
          if (!values['serve']) return;
          const srv = await startServer({
            client: store.client,
            log,
            host: config.serve.host,
            allowedHosts: config.serve.allowedHosts,
            port: config.serve.port,
            owners: config.owners,
            repeatWindowDays: config.trends.repeatWindowDays,
            ...(store.kind === 'chdb' ? { store: store.location } : {}),
            metrics: () => metrics.prometheus(),
            health,
            status: () => ({ sinks: alerts.health(), metrics: metrics.snapshot() }),
            describe: (ids) => assigner.describe(ids),
            ...(trends ? { statusesChanged: () => trends.statusesChanged() } : {}),
          });
          closers.push(srv.close);
        },
      });
      log.info(summary, 'pipeline finished');
      if (values['json']) print(summary);
      else print(`stored ${summary.events_stored} events, dead-lettered ${summary.events_dead_lettered}, ${summary.clusters} clusters, in ${summary.seconds} s`);
      return 0;
    } finally {
      await setup.close();
      for (const close of closers) await close();
    }
  }, { writer: true });
}

/**
 * The relayed stdin. A pipe or socket is read as a socket: a file stream reads in the thread pool, and a read
 * waiting on a quiet pipe could not be cancelled, so a stop waited for the next line (SIGTERM took 30 s).
 */
function readFd(fd: number): Readable {
  const st = fstatSync(fd);
  return st.isFIFO() || st.isSocket() ? new Socket({ fd, readable: true, writable: false }) : createReadStream('', { fd });
}

/**
 * Embedded chDB reads file descriptor 0 itself whenever it holds data (clickhouse-local treats it as
 * insert input), so with `--input -` the pipeline runs in a child whose fd 0 is empty and whose
 * fd 3 is our stdin.
 */
async function relayStdin(argv: string[], ctx: CommandContext): Promise<number> {
  const args = argv.flatMap((a, i) => (a === '-' && argv[i - 1] === '--input' ? [] : a === '--input' ? ['--stdin-fd', '3'] : [a]));
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'run', ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 0],
    // This process says what a signal does; the child, signalled by it, does not say it a second time.
    env: { ...process.env, RECUR_RELAYED_STDIN: '1' },
  });
  ctx.onShutdown(async () => {
    child.kill('SIGTERM');
  }, stopping('stdin:'));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

/** What a stop means for the input's events not stored yet, by the kind of source (its name's prefix). */
function stopping(source: string): string {
  if (source.startsWith('kafka:')) return 'what is stored stays, the batch in progress is read again on the next start';
  if (readOnce(source)) return 'what is stored stays; lines not stored yet are not read again (a pipe or stdin is read once)';
  return 'what is stored stays; the same file run again stores only what is missing';
}
