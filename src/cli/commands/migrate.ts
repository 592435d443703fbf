import { configFrom, parse, print } from '../args.js';
import type { CommandContext } from '../main.js';
import { migrate, openStore } from '../../store/index.js';

const HELP = `usage: recur migrate [--json]

Applies the versioned migrations in schemas/clickhouse/ that the store has not seen yet, and sets the configured
clickhouse.dedupWindow on the tables that deduplicate (as recur run does at start).`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const store = await openStore(config.clickhouse);
  try {
    const r = await migrate(store.client, { dedupWindow: config.clickhouse.dedupWindow, setDedupWindow: true });
    if (values['json']) print({ store: store.kind, location: store.location, ...r });
    else print(r.applied.length ? `applied: ${r.applied.join(', ')}` : `up to date (${r.current.length} migrations)`);
    return 0;
  } finally {
    await store.close();
  }
}
