import { configFrom, duration, parse, print, str, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { csvText, terminalSafe } from '../table.js';
import { withReader } from '../reader.js';

const HELP = `usage: recur affected <cluster> [--since 30d|all] [--format csv|json]

The customers who contacted support about a cluster, with their cases, channels and first/last
contact: the list to notify proactively when the fix ships. CSV by default.`;


export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { since: { type: 'string' }, format: { type: 'string' }, json: { type: 'boolean' } }, 1);
  if (values['help']) return print(HELP), 0;
  const id = positionals[0];
  if (!id) throw new UsageError('recur affected needs a cluster id (see `recur clusters`)');
  const format = values['json'] ? 'json' : (str(values, 'format') ?? 'csv');
  if (format !== 'csv' && format !== 'json') throw new UsageError(`--format takes csv or json, got "${format}"`);
  const since = str(values, 'since') ?? 'all';
  const sinceMs = since === 'all' ? 0 : Date.now() - duration(since, 'since');
  const config = configFrom(values, ctx.env);
  return withReader(config, async (read) => {
    const rows = await read.affected(id, sinceMs);
    if (rows === null) {
      process.stderr.write(`recur: no cluster "${id}"\n`);
      return 1;
    }
    if (format === 'json') print(rows);
    else {
      const lines = ['customer_id,cases,contacts,channels,first_contact,last_contact,case_ids'];
      for (const r of rows) {
        lines.push([csvText(r.customer_id), String(r.cases), String(r.contacts), r.channels.join(' '), r.first_contact, r.last_contact, csvText(r.case_ids.join(' '))].join(','));
      }
      const text = `${lines.join('\n')}\n`;
      // To a terminal, stored text cannot carry escape sequences to it; to a file or a pipe, the ids as stored.
      process.stdout.write(process.stdout.isTTY ? terminalSafe(text) : text);
    }
    return 0;
  });
}
