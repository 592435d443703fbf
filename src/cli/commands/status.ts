import { configFrom, parse, print, str, UsageError, withStore } from '../args.js';
import type { CommandContext } from '../main.js';
import { clusterExists, clusterStatuses, setClusterStatus } from '../../store/index.js';

export const STATUSES = ['open', 'acknowledged', 'fix_pending', 'fix_available', 'resolved'] as const;

const HELP = `usage: recur status set <cluster> <status> [--note TEXT]
       recur status [<cluster>] [--json]

Moves a cluster through ${STATUSES.join(' → ')}. Once a cluster is fix_available or
resolved, volume that comes back raises a regression episode.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { note: { type: 'string' }, json: { type: 'boolean' } });
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  if (positionals[0] === 'set') {
    const [, id, status] = positionals;
    if (!id || !status) throw new UsageError('usage: recur status set <cluster> <status> [--note TEXT]');
    if (!(STATUSES as readonly string[]).includes(status)) throw new UsageError(`status must be one of ${STATUSES.join(', ')}; got "${status}"`);
    return withStore(config, async (store) => {
      if (!(await clusterExists(store.client, id))) {
        process.stderr.write(`recur: no cluster "${id}"\n`);
        return 1;
      }
      await setClusterStatus(store.client, id, status, str(values, 'note') ?? '', Date.now());
      print(values['json'] ? { cluster_id: id, status } : `${id}: ${status}`);
      return 0;
    });
  }
  return withStore(config, async (store) => {
    const all = [...(await clusterStatuses(store.client)).values()].filter((s) => !positionals[0] || s.cluster_id === positionals[0]);
    const rows = all.map((s) => ({ cluster_id: s.cluster_id, status: s.status, changed_at: new Date(s.changed_at).toISOString() }));
    print(values['json'] ? rows : rows.map((r) => `${r.cluster_id}  ${r.status}  ${r.changed_at}`).join('\n') || 'no cluster has a status yet (all open)');
    return 0;
  });
}
