import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configFrom, parse, print } from '../args.js';
import type { CommandContext } from '../main.js';
import { createLogger } from '../log.js';
import { table } from '../table.js';
import { ingestSummary, listEpisodes, migrate, openStore, topClusters } from '../../store/index.js';
import { runJob } from '../../pipeline/job.js';
import { LineSource, linesPerBatch } from '../../sources/index.js';

const SAMPLE = fileURLToPath(new URL('../../../examples/sample-events.ndjson', import.meta.url));

const HELP = `usage: recur demo [--input FILE.ndjson] [--data-dir DIR] [--json]

Runs the whole job on embedded defaults — no broker, no server: the sample stream that ships with recur
(examples/sample-events.ndjson: two weeks of omnichannel support cases with PII, invalid lines and one
injected surge) through validation, PII masking, clustering and counting into chDB in ./.recur/demo
(recreated each run), then prints what it found. A configured ClickHouse server is not used unless
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
  if (config.clickhouse.url === undefined) rmSync(config.clickhouse.dataDir, { recursive: true, force: true });
  const log = createLogger(config.log.level);
  const store = await openStore(config.clickhouse);
  try {
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
