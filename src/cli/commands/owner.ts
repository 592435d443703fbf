import { configFrom, parse, print, UsageError } from '../args.js';
import { withReader, withWriter } from '../reader.js';
import type { CommandContext } from '../main.js';
import { teamProblem } from '../../store/index.js';

const HELP = `usage: recur owner set <cluster> <team>
       recur owner unset <cluster>
       recur owner [--json]

Pins an owner team to a cluster; a pin overrides the routing rules (owners.rules) for alerts and cost.
Open episodes of the cluster are routed to the new owner from their next update. While a
\`recur run --serve\` or \`recur serve\` holds the embedded store, this goes through it.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, 3);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const [verb, id, team] = positionals;
  if (verb === 'set' || verb === 'unset') {
    if (!id || (verb === 'set' && !team) || (verb === 'unset' && team !== undefined)) throw new UsageError(`usage: recur owner ${verb} <cluster>${verb === 'set' ? ' <team>' : ''}`);
    const problem = team === undefined ? null : teamProblem(team);
    if (problem) throw new UsageError(problem);
    return withWriter(config, async (write) => {
      if (!(await write.pinOwner(id, verb === 'set' ? team! : ''))) {
        process.stderr.write(`recur: no cluster "${id}"\n`);
        return 1;
      }
      print(values['json'] ? { cluster_id: id, owner: verb === 'set' ? team : null } : `${id}: ${verb === 'set' ? team : 'unpinned'}`);
      return 0;
    });
  }
  if (verb !== undefined) throw new UsageError(`unknown owner action "${verb}"; use set or unset`);
  const pins = await withReader(config, (read) => read.ownerPins());
  print(values['json'] ? pins : pins.map((p) => `${p.cluster_id}  ${p.owner}`).join('\n') || 'no pinned owners');
  return 0;
}
