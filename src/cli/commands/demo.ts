import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { fileURLToPath } from 'node:url';
import { configFrom, parse, print, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { createLogger } from '../log.js';
import { table } from '../table.js';
import { ingestSummary, listEpisodes, migrate, openStore, topClusters } from '../../store/index.js';
import { select } from '../../store/select.js';
import { runJob } from '../../pipeline/job.js';
import { LineSource, linesPerBatch } from '../../sources/index.js';

const SAMPLE = fileURLToPath(new URL('../../../examples/sample-events.ndjson', import.meta.url));

const HELP = `usage: recur demo [--input FILE.ndjson] [--data-dir DIR] [--json]

Runs the whole job on embedded defaults — no broker, no server: the sample stream that ships with recur
(examples/sample-events.ndjson: two weeks of omnichannel support cases with PII, invalid lines and one
injected surge) through validation, PII masking, clustering and counting into chDB in ./.recur/demo
(emptied each run; another --data-dir must be empty, new, or a demo's), then prints what it found. A configured ClickHouse server is not used unless
--clickhouse-url names it, and the demo's alerts go to the log only, never to configured webhooks or topics.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { input: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const loaded = configFrom({ 'data-dir': './.recur/demo', 'log-level': 'warn', ...values }, ctx.env);
  // A demo never writes to a server or alerts anyone because RECUR_CLICKHOUSE_URL or a config file names
  // production ones: embedded chDB unless --clickhouse-url says otherwise, and its alerts only logged.
  const explicitUrl = typeof values['clickhouse-url'] === 'string';
  const configuredUrl = loaded.clickhouse.url;
  const embedded = { ...loaded.clickhouse };
  delete embedded.url;
  if (configuredUrl !== undefined && !explicitUrl) process.stderr.write(`recur: demo runs on embedded chDB in ${loaded.clickhouse.dataDir}, not on the configured server (pass --clickhouse-url to use one)\n`);
  const config = { ...loaded, clickhouse: explicitUrl ? loaded.clickhouse : embedded, alerts: { ...loaded.alerts, kafka: false, webhooks: [] } };
  const dir = config.clickhouse.url === undefined ? resolve(config.clickhouse.dataDir) : null;
  // Emptied each run, so only a directory that is the demo's: a --data-dir pointed at a real store or at
  // anything else is refused, not deleted.
  if (dir && existsSync(dir) && readdirSync(dir).length > 0 && !existsSync(join(dir, DEMO_MARK)) && !isDefaultDemo(dir)) {
    throw new UsageError(`${dir} is not a demo store (recur demo empties its directory each run): give --data-dir an empty or new directory`);
  }
  if (dir) {
    // Marked before the store is made in it: a first run that dies midway leaves a directory the next run empties.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, DEMO_MARK), 'recur demo store: emptied by each `recur demo` run\n');
  }
  const log = createLogger(config.log.level);
  // Opened first: a store another process holds is refused by its lock, not emptied under it.
  const store = await openStore(config.clickhouse);
  try {
    if (dir) await dropEverything(store.client);
    await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow });
    const input = typeof values['input'] === 'string' ? values['input'] : SAMPLE;
    const source = LineSource.fromFile(input, linesPerBatch(config.ingest.maxBatchRows), config.ingest.maxMessageBytes);
    ctx.onShutdown(() => source.stop());
    // The shipped sample has fixed dates: on a machine whose clock is behind them it is not "from the future".
    const demoConfig = input === SAMPLE ? { ...config, trends: { ...config.trends, maxFutureHours: 1e6 } } : config;
    const run = await runJob({ config: demoConfig, log, store, source, finite: true });
    const summary = await ingestSummary(store.client);
    const clusters = await topClusters(store.client, { limit: 10, cost: config.owners.cost });
    const episodes = await listEpisodes(store.client, 0);
    const report = { input, store: store.location, seconds: run.seconds, ...summary, clusters_found: run.clusters, top_clusters: clusters, episodes };
    if (values['json']) {
      print(report);
      return 0;
    }
    print(
      [
        `recur demo — ${input}`,
        `stored ${summary.events} events (${summary.cases} cases, ${summary.customers} customers) in ${run.seconds} s; PII masked in ${summary.masked}`,
        `dead-lettered: ${summary.dead_letters.map((d) => `${d.n} ${d.reason_code}`).join(', ') || 'none'}`,
        `${run.clusters} recurring problems found; the largest:`,
        '',
        table(clusters as never, [['cluster_id', 'cluster'], ['cases', 'cases'], ['customers', 'customers'], ['cost', 'cost'], ['label', 'label', 56]]),
        '',
        `${episodes.length} trend episodes (most severe first):`,
        table(episodes.slice(0, 8) as never, [['kind', 'kind'], ['cluster_id', 'cluster'], ['window_start', 'from'], ['observed', 'cases'], ['expected', 'expected'], ['customers', 'customers'], ['label', 'label', 40]]),
        '',
        `explore: recur clusters --data-dir ${config.clickhouse.dataDir} · recur show <cluster> --data-dir ${config.clickhouse.dataDir}`,
      ].join('\n'),
    );
    return 0;
  } finally {
    await store.close();
  }
}

/** Marks a data directory as the demo's own (recur demo empties it each run). */
const DEMO_MARK = '.recur-demo';

/** The demo store's tables and views, dropped: the run starts from nothing (migrations apply again). */
async function dropEverything(client: ClickHouseClient): Promise<void> {
  const objects = await select<{ name: string; view: number }>(client, "SELECT name, engine LIKE '%View' AS view FROM system.tables WHERE database = currentDatabase()");
  // Views first: a view's table goes only once nothing selects from it.
  for (const o of objects.sort((a, b) => Number(b.view) - Number(a.view))) {
    await client.command({ query: 'DROP TABLE IF EXISTS {name:Identifier} SYNC', query_params: { name: o.name } });
  }
}

/**
 * The default ./.recur/demo, as earlier versions made it (unmarked): the demo's own, unless it is a symlink
 * (to a store of someone's, perhaps).
 */
function isDefaultDemo(dir: string): boolean {
  return dir === resolve('.recur/demo') && !lstatSync(dir).isSymbolicLink();
}
