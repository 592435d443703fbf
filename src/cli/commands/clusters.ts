import { withStore, configFrom, duration, int, parse, print, str } from '../args.js';
import type { CommandContext } from '../main.js';
import { table } from '../table.js';
import { topClusters } from '../../store/index.js';

const HELP = `usage: recur clusters [--since 7d] [--limit 20] [--json]

Recurring problems, most distinct cases first: label, distinguishing terms, contacts, cases,
customers and cost in the window.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { since: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const since = str(values, 'since');
  const sinceMs = since ? Date.now() - duration(since, 'since') : 0;
  return withStore(config, async (store) => {
    const rows = await topClusters(store.client, { sinceMs, limit: int(values, 'limit') ?? 20 });
    if (values['json']) print(rows);
    else print(table(rows as never, [['cluster_id', 'cluster'], ['cases', 'cases'], ['customers', 'customers'], ['contacts', 'contacts'], ['cost', 'cost'], ['label', 'label', 60]]));
    return 0;
  });
}
