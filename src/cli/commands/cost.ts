import { configFrom, duration, parse, print, str, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { table } from '../table.js';
import { withReader } from '../reader.js';

const HELP = `usage: recur cost [--by owner|cluster] [--since 30d] [--all] [--json]

Charge-back: what each owner's unresolved problems cost the support organisation in the period, under
the cost model (owners.cost: an event's own cost, else handle time × hourlyRate when set, else the
channel's per-contact price). Resolved clusters are left out unless --all.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { by: { type: 'string' }, since: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const by = str(values, 'by') ?? 'owner';
  if (by !== 'owner' && by !== 'cluster') throw new UsageError(`--by takes owner or cluster, got "${by}"`);
  const since = str(values, 'since') ?? '30d';
  const sinceMs = since === 'all' ? 0 : Date.now() - duration(since, 'since');
  const config = configFrom(values, ctx.env);
  return withReader(config, async (read) => {
    if (by === 'cluster') {
      const withOwner = await read.chargeBack(sinceMs, values['all'] === true);
      if (values['json']) print(withOwner);
      else print(table(withOwner as never, [['cluster_id', 'cluster'], ['owner', 'owner'], ['status', 'status'], ['cases', 'cases'], ['contacts', 'contacts'], ['cost', 'cost'], ['label', 'label', 40]]));
      return 0;
    }
    // Each case once per owner, however many of the owner's clusters its messages fell in.
    const out = await read.ownerTotals(sinceMs, values['all'] === true);
    if (values['json']) print(out);
    else print(table(out as never, [['owner', 'owner'], ['clusters', 'clusters'], ['cases', 'cases'], ['contacts', 'contacts'], ['cost', 'cost']]));
    return 0;
  });
}
