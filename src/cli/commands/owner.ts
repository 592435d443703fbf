import { configFrom, parse, print, UsageError, withStore } from '../args.js';
import type { CommandContext } from '../main.js';
import { clusterExists, ownerPins, pinOwner } from '../../store/index.js';

const HELP = `usage: recur owner set <cluster> <team>
       recur owner unset <cluster>
       recur owner [--json]

Pins an owner team to a cluster; a pin overrides the routing rules (owners.rules) for alerts and cost.
Open episodes of the cluster are routed to the new owner from their next update.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const [verb, id, team] = positionals;
  return withStore(config, async (store) => {
    if (verb === 'set' || verb === 'unset') {
      if (!id || (verb === 'set' && !team)) throw new UsageError(`usage: recur owner ${verb} <cluster>${verb === 'set' ? ' <team>' : ''}`);
      if (team !== undefined && !/^[\w.-]{1,64}$/.test(team)) throw new UsageError(`team names are letters, digits, "_", "-" and "."; got "${team}"`);
      if (!(await clusterExists(store.client, id))) {
        process.stderr.write(`recur: no cluster "${id}"\n`);
        return 1;
      }
      await pinOwner(store.client, id, verb === 'set' ? team! : '', Date.now());
      print(values['json'] ? { cluster_id: id, owner: verb === 'set' ? team : null } : `${id}: ${verb === 'set' ? team : 'unpinned'}`);
      return 0;
    }
    if (verb !== undefined) throw new UsageError(`unknown owner action "${verb}"; use set or unset`);
    const pins = [...(await ownerPins(store.client)).entries()].map(([cluster_id, owner]) => ({ cluster_id, owner }));
    print(values['json'] ? pins : pins.map((p) => `${p.cluster_id}  ${p.owner}`).join('\n') || 'no pinned owners');
    return 0;
  });
}
