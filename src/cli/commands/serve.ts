import { configFrom, int, parse, print, withStore } from '../args.js';
import type { CommandContext } from '../main.js';
import { createLogger } from '../log.js';
import { storeMustExist } from '../reader.js';
import { startServer } from '../../serve/index.js';
import { Metrics } from '../../pipeline/metrics.js';

const HELP = `usage: recur serve [--port 8470]

Serves the dashboard (/), the JSON API (/api/summary, /api/clusters, /api/cluster/<id>, /api/trends,
/api/affected/<id>, /api/cost, /api/statuses, /api/owners, /api/status, /api/store, /api/extent), /metrics and
/healthz on serve.host (127.0.0.1) until SIGTERM, for a store that exists (recur run or recur demo makes one). With embedded chDB it holds the data directory: run it
instead of, not beside, \`recur run\` (which has --serve); the read commands (clusters, show, trends, affected,
cost, status, owner) on the same --data-dir answer through it, and so do \`recur status set\` and \`recur owner
set|unset\` (POST /api/status/<id>, /api/owner/<id>, with the token in serving.token, mode 0600). It writes
serving.json and serving.token there while it serves.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { port: { type: 'string' } }, false);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const log = createLogger(config.log.level);
  const port = int(values, 'port', { min: 0, max: 65535 });
  // A mistyped --data-dir would make an empty store there and serve it: a dashboard of nothing, said nowhere.
  if (!config.clickhouse.url) storeMustExist(config);
  return withStore(config, async (store) => {
    const srv = await startServer({
      client: store.client,
      log,
      host: config.serve.host,
      allowedHosts: config.serve.allowedHosts,
      port: port ?? config.serve.port,
      owners: config.owners,
      repeatWindowDays: config.trends.repeatWindowDays,
      ...(store.kind === 'chdb' ? { store: store.location } : {}),
      // No pipeline here: its counters are `recur run --serve`'s. This process holds chDB, so its own CPU and memory.
      metrics: () => new Metrics().prometheus(),
    });
    process.stderr.write(`recur: serving ${srv.url}\n`);
    await new Promise<void>((resolve) => ctx.onShutdown(async () => resolve(), 'the server closes'));
    await srv.close();
    return 0;
  });
}
