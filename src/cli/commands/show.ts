import { configFrom, parse, print, UsageError } from '../args.js';
import type { CommandContext } from '../main.js';
import { withReader } from '../reader.js';
import { oneLine } from '../../text/normalize.js';

const HELP = `usage: recur show <cluster> [--json]

One cluster: label, status and owner, distinguishing terms, representative (masked) examples, daily
volume, channels.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } }, 1);
  if (values['help']) return print(HELP), 0;
  const id = positionals[0];
  if (!id) throw new UsageError('recur show needs a cluster id (see `recur clusters`)');
  const config = configFrom(values, ctx.env);
  return withReader(config, async (read) => {
    const detail = await read.clusterDetail(id);
    if (!detail) {
      process.stderr.write(`recur: no cluster "${id}"\n`);
      return 1;
    }
    if (values['json']) print(detail);
    else print(showText(detail as unknown as Record<string, unknown>));
    return 0;
  });
}

/**
 * `recur show`'s text. Labels and examples come from customers' text, and an example keeps its line breaks:
 * each is printed on one line, so no customer can add lines (a forged "status:") to what an analyst reads.
 */
export function showText(detail: Record<string, unknown>): string {
  const d = detail as Record<string, unknown> & { daily: { day: string; cases: number }[]; channels: { channel: string; contacts: number }[] };
  return [
    `${d['cluster_id']}: ${oneLine(String(d['label'] ?? '')) || '(no stored label)'}`,
    ...goneLine(d),
    `status:   ${d['status']}${d['status_changed_at'] ? ` since ${String(d['status_changed_at']).slice(0, 19)}` : ''}${d['status_note'] ? ` (${oneLine(String(d['status_note']))})` : ''} · owner ${d['owner']} (${d['owner_reason']})`,
    `terms:    ${(d['top_terms'] as string[]).join(', ')}`,
    `size:     ${d['size']} events in the model (with the clusters merged into it), first seen ${d['first_seen']}, last seen ${d['last_seen']}`,
    `channels: ${d.channels.map((c) => `${c.channel} ${c.contacts}`).join(', ')}`,
    `repeats:  ${d['repeat_contacts']} contacts from customers back within ${d['repeat_window_days']} days`,
    'examples:',
    ...(d['examples'] as string[]).map((e) => `  - ${oneLine(e)}`),
    'cases per day:',
    ...d.daily.map((x) => `  ${x.day.slice(0, 10)}  ${'█'.repeat(Math.min(60, x.cases))} ${x.cases}`),
  ].join('\n');
}

/** Where a cluster that left the live model went: its history stays under its own id. */
function goneLine(d: Record<string, unknown>): string[] {
  const state = String(d['state'] ?? 'live');
  if (state === 'live') return [];
  const since = String(d['updated_at'] ?? '').slice(0, 19);
  const into = String(d['merged_into'] ?? '');
  return [
    state === 'merged' && into
      ? `state:    merged into ${into} (checkpoint of ${since}); its later cases count there: recur show ${into}`
      : `state:    ${state} (checkpoint of ${since}); new cases no longer join it`,
  ];
}
