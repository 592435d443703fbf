import { configFrom, parse, print, str, UsageError } from '../args.js';
import { apiBase, servingApi, ServingSilent, withReader, withWriter } from '../reader.js';
import type { CommandContext } from '../main.js';
import { noteProblem, statusProblem } from '../../store/index.js';
import { CLUSTER_STATUSES as STATUSES } from '../../trends/index.js';

const HELP = `usage: recur status set <cluster> <status> [--note TEXT]
       recur status [<cluster>] [--json]

Without "set": the health of a running \`recur run --serve\` (pipeline and each alert sink; exit 1 when a
sink is unhealthy or the pipeline gives no answer within 15 s) and the statuses set so far; with <cluster>, that cluster's (open when never set). With
--json, one document: {pipeline, sinks (when one runs), clusters}.

Moves a cluster through ${STATUSES.join(' → ')}. Once a cluster is fix_available or
resolved, volume that comes back raises a regression episode. While a \`recur run --serve\` or \`recur serve\`
holds the embedded store, the change is made through it (with the token it keeps beside the store).`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { note: { type: 'string' }, json: { type: 'boolean' } }, 3);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  if (positionals[0] !== 'set' && positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}" (usage: recur status [<cluster>] | recur status set <cluster> <status>)`);
  if (positionals[0] === 'set') {
    const [, id, status] = positionals;
    if (!id || !status) throw new UsageError('usage: recur status set <cluster> <status> [--note TEXT]');
    const problem = statusProblem(status) ?? noteProblem(str(values, 'note') ?? '');
    if (problem) throw new UsageError(problem);
    return withWriter(config, async (write) => {
      const gone = await write.setStatus(id, status, str(values, 'note') ?? '');
      if (!gone) {
        process.stderr.write(`recur: no cluster "${id}"\n`);
        return 1;
      }
      print(values['json'] ? { cluster_id: id, status } : `${id}: ${status}`);
      // Volume that comes back lands in the cluster this one was merged into: that is where a regression shows.
      if (gone.state === 'merged' && gone.merged_into)
        process.stderr.write(`recur: note: ${id} was merged into ${gone.merged_into}; its new cases land there, so set ${gone.merged_into}'s status too for a regression to be watched\n`);
      else if (gone.state === 'retired') process.stderr.write(`recur: note: ${id} is retired; new cases no longer join it\n`);
      return 0;
    });
  }
  // A process serving this embedded store (`recur run --serve`, `recur serve`) holds it: it answers, and a
  // running pipeline also reports its own and its sinks' health. With a server store any process may be the
  // pipeline on serve.port; an embedded store's is the one that says it holds this store (another store's
  // pipeline on that port is not this one's).
  let api: string | null = null;
  try {
    api = config.clickhouse.url ? null : await servingApi(config, STATUS_WAIT_MS);
  } catch (err) {
    // The process holding this embedded store is there but silent: no statuses can be read past it either.
    if (!(err instanceof ServingSilent)) throw err;
    print(values['json'] ? { pipeline: 'not answering', clusters: [] } : `pipeline: not answering (pid ${err.pid}, ${err.api} gave no answer within ${STATUS_WAIT_MS / 1000} s)`);
    return 1;
  }
  const base = config.clickhouse.url ? apiBase(config.serve.host, config.serve.port) : api;
  // A process that answered for this store a moment ago and is busy (a backfill) is waited for; nothing on a
  // server store's configured address refuses at once. Given 1.5 s, a busy pipeline with a failing sink read as
  // "not running", exit 0.
  let silent = false;
  const live = base
    ? await fetch(`${base}/status`, { signal: AbortSignal.timeout(STATUS_WAIT_MS) })
        .then((r) => (r.ok ? (r.json() as Promise<{ sinks?: Record<string, unknown>[] }>) : null))
        .catch((err: unknown) => {
          silent = err instanceof Error && err.name === 'TimeoutError';
          return null;
        })
    : null;
  const sinks = live?.sinks;
  const pipeline = sinks ? 'running' : silent ? 'not answering' : 'not running';
  const health = silent ? [`pipeline: not answering (${base} gave no answer within ${STATUS_WAIT_MS / 1000} s)`] : [];
  if (sinks) health.push('pipeline: running', ...sinks.map((h) => `sink ${h['sink']}: ${h['healthy'] ? 'healthy' : 'UNHEALTHY'}, delivered ${h['delivered']}, failed ${h['failed_permanent']}, pending ${h['pending']}${h['last_error'] ? `, last error: ${h['last_error']}` : ''}`));
  const id = positionals[0];
  const { statuses, exists } = await withReader(
    config,
    async (read) => ({ statuses: await read.statuses(), exists: id === undefined || (await read.clusterExists(id)) }),
    api,
  );
  // fixed_at: when the fix a fixed status stands for was marked (resolved keeps fix_available's time); the regression
  // watch runs from then. A server of an older version does not send it.
  const rows: { cluster_id: string; status: string; changed_at: string | null; fixed_at?: string | null }[] = statuses
    .filter((s) => id === undefined || s.cluster_id === id)
    .map((s) => ({
      cluster_id: s.cluster_id,
      status: s.status,
      changed_at: new Date(s.changed_at).toISOString(),
      ...(s.fixed_at === undefined ? {} : { fixed_at: s.fixed_at === null ? null : new Date(s.fixed_at).toISOString() }),
    }));
  const line = (r: (typeof rows)[number]) => `${r.cluster_id}  ${r.status}  ${r.changed_at ?? ''}${r.fixed_at && r.fixed_at !== r.changed_at ? `  (fixed since ${r.fixed_at})` : ''}`.trimEnd();
  // One document either way: the pipeline's health (when one runs) and the statuses set so far.
  const doc = { pipeline, ...(sinks ? { sinks } : {}), clusters: rows };
  if (id === undefined) {
    const list = rows.map(line).join('\n') || 'no cluster has a status yet (all open)';
    print(values['json'] ? doc : [...health, list].join('\n'));
    return unhealthy(sinks, silent);
  }
  // One cluster, in one document: open when its status was never set; exit 1 when there is no such cluster.
  if (rows.length === 0) {
    if (!exists) {
      process.stderr.write(`recur: no cluster "${id}"\n`);
      return 1;
    }
    rows.push({ cluster_id: id, status: 'open', changed_at: null, fixed_at: null });
  }
  if (values['json']) print(doc);
  else print([...health, ...rows.map(line)].join('\n'));
  // The same health lines, the same exit code as the listing's.
  return unhealthy(sinks, silent);
}

/** How long a pipeline's process gets to report its health. */
const STATUS_WAIT_MS = 15_000;

/** 1 when the pipeline runs with a sink that is not healthy, or did not answer (for cron and monitoring), else 0. */
function unhealthy(sinks: Record<string, unknown>[] | null | undefined, silent: boolean): number {
  return silent || (sinks && !sinks.every((h) => h['healthy'])) ? 1 : 0;
}
