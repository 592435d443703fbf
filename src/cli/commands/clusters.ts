import { configFrom, duration, int, parse, print, str, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { table } from '../table.js';
import { withReader } from '../reader.js';
import { MAX_LIST_LIMIT } from '../../store/queries.js';

const HELP = `usage: recur clusters [--since 7d|all] [--limit 20] [--json]

Recurring problems, most distinct cases first: label, distinguishing terms, contacts, cases,
customers and cost in the window (all stored events when --since is not given), the cost priced as
recur cost prices it (owners.cost: a contact's own cost, else its handle time at the hourly rate, else
its channel's price).`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const since = str(values, 'since');
  const sinceMs = since && since !== 'all' ? Date.now() - duration(since, 'since') : 0;
  const limit = int(values, 'limit', { min: 1, max: MAX_LIST_LIMIT }) ?? 20;
  return withReader(config, async (read) => {
    const rows = await read.topClusters(sinceMs, limit);
    if (rows.length === 0 && sinceMs > 0) {
      // The window is in event time: after a backfill of older data it can be empty.
      const newest = await read.newestEvent();
      if (newest !== null) process.stderr.write(`recur: no contact in the last ${since}; the newest event is from ${new Date(newest).toISOString()} (--since all lists everything)\n`);
    }
    if (values['json']) print(rows);
    else {
      // A cluster merged away or retired keeps its history under its own id: said beside it, not hidden.
      const shown = rows.map((r) => ({ ...r, state: r.state === 'merged' && r.merged_into ? `merged into ${r.merged_into}` : r.state }));
      print(table(shown as never, [['cluster_id', 'cluster'], ['cases', 'cases'], ['customers', 'customers'], ['contacts', 'contacts'], ['cost', 'cost'], ['state', 'state'], ['label', 'label', 60]]));
    }
    return 0;
  });
}
