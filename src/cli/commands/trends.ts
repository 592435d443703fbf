import { configFrom, duration, parse, print, str } from '../args.js';
import type { CommandContext } from '../main.js';
import { table } from '../table.js';
import { withReader } from '../reader.js';

const HELP = `usage: recur trends [--since 7d|all] [--json]

Trend episodes (new, spike, sustained_growth, regression) whose window reaches into the period: open
ones first; regressions (a fix that did not hold) first among them, then the most severe (peak score; new
episodes, whose score is their case count, not a surprise, after the other kinds). Each row is one episode: an alert is updated while it
grows and closed when it subsides.`;

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(argv, { since: { type: 'string' }, json: { type: 'boolean' } }, false);
  if (values['help']) return print(HELP), 0;
  const config = configFrom(values, ctx.env);
  const since = str(values, 'since') ?? '7d';
  const sinceMs = since === 'all' ? 0 : Date.now() - duration(since, 'since');
  return withReader(config, async (read) => {
    const rows = await read.listEpisodes(sinceMs);
    const extent = rows.length === 0 && since !== 'all' ? await read.episodeExtent() : null;
    if (extent) {
      // Windows are in event time: after a backfill of older data the default period can be empty.
      const { episodes, newest_end } = extent;
      if (episodes > 0) process.stderr.write(`recur: no episode reaches into the last ${since}; ${episodes} older, the newest ended ${newest_end} UTC (--since all lists them)\n`);
    }
    if (values['json']) print(rows);
    else
      print(
        table(rows as never, [
          ['status', 'status'],
          ['kind', 'kind'],
          ['cluster_id', 'cluster'],
          ['window_start', 'from'],
          ['window_end', 'to'],
          ['observed', 'cases'],
          ['expected', 'expected'],
          ['customers', 'customers'],
          ['peak_score', 'score'],
          ['label', 'label', 40],
        ]),
      );
    return 0;
  });
}
