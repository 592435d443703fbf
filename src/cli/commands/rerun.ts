import { randomUUID } from 'node:crypto';
import { configFrom, int, parse, print, str, UsageError, withStore } from '../args.js';
import type { CommandContext } from '../main.js';
import { createLogger } from '../log.js';
import { storeMustExist } from '../reader.js';
import { planRerun } from '../../cluster/index.js';
import { Tokenizer } from '../../text/tokenize.js';
import { createEmbedder, MODELS } from '../../text/embed/index.js';
import { clusterSpans, loadRange, maxModelVersion, recordRerun, rewriteRange } from '../../store/index.js';
import { chTime } from '../../store/writer.js';

const HELP = `usage: recur rerun --from DATE --to DATE [--k N|auto] [--seed N] [--embedder none|bge-small|minilm]
                   [--dry-run] [--json]

Re-clusters every stored event with from ≤ occurred_at < to (UTC dates like 2026-11-01, or whole
hours with their zone like 2026-11-01T06:00Z) with the batch re-fit, keeps existing cluster ids where a new cluster
matches one, records splits, merges, new and retired clusters in cluster_lineage (a cluster merged or
retired in the range is marked so only if it has no event outside the range), and rewrites the
range's assignments and rolling counts under a new model version. Prints what changed. With an
embedder (cluster.embedder, or --embedder) it clusters by meaning; ids are matched either way.
Repeatable and cron-friendly: the same range and seed give the same clustering; an interrupted run is
simply run again (everything is recomputed from case_events; the new version's rows are written before
the old ones are deleted, so an interruption loses nothing and keeps the cluster ids). Stop the live pipeline meanwhile when it
writes the same range (embedded chDB enforces this with its lock).`;

/**
 * A UTC date (2026-11-01) or an ISO time with its zone (2026-11-01T06:00Z, 2026-11-01T07:00+01:00). A time
 * without a zone is refused: Date.parse would read it in the machine's zone, and cron machines differ.
 */
export function parseTime(v: string | undefined, flag: string): number {
  if (!v) throw new UsageError(`--${flag} is required (a date like 2026-11-01)`);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.exec(v);
  if (!m) throw new UsageError(`--${flag} takes a UTC date like 2026-11-01 or an ISO time with its zone like 2026-11-01T06:00Z, got "${v}"`);
  const [, y, mo, d] = m;
  const day = Date.UTC(Number(y), Number(mo) - 1, Number(d));
  if (new Date(day).toISOString().slice(0, 10) !== `${y}-${mo}-${d}`) throw new UsageError(`--${flag} "${v}" is not a day of the calendar`);
  const t = Date.parse(m[4] === undefined ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t) || Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) throw new UsageError(`--${flag} "${v}" is not a time`);
  if (t % 3_600_000 !== 0) throw new UsageError(`--${flag} must fall on a whole hour (rolling counts are hourly), got "${v}"`);
  return t;
}

export default async function (argv: string[], ctx: CommandContext): Promise<number> {
  const { values } = parse(
    argv,
    { from: { type: 'string' }, to: { type: 'string' }, k: { type: 'string' }, seed: { type: 'string' }, embedder: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } },
    false,
  );
  if (values['help']) return print(HELP), 0;
  const from = parseTime(str(values, 'from'), 'from');
  const to = parseTime(str(values, 'to'), 'to');
  if (to <= from) throw new UsageError('--to must be after --from');
  const kRaw = str(values, 'k') ?? 'auto';
  const k = kRaw === 'auto' ? 'auto' : /^\d{1,9}$/.test(kRaw) ? Number(kRaw) : NaN;
  if (k !== 'auto' && (!Number.isInteger(k) || k < 1)) throw new UsageError(`--k takes a whole number or auto, got "${kRaw}"`);
  const seed = int(values, 'seed', { min: 0, max: 0xffffffff }) ?? 1;
  const config = configFrom(values, ctx.env);
  const log = createLogger(config.log.level);
  const kind = str(values, 'embedder') ?? config.cluster.embedder;
  if (kind !== 'none' && kind !== 'bge-small' && kind !== 'minilm') throw new UsageError(`--embedder takes none, bge-small or minilm, got "${kind}"`);
  // A mistyped --data-dir would open an empty store and say "no stored events" with exit 0: a cron job's silent no-op.
  if (!config.clickhouse.url) storeMustExist(config);
  return withStore(config, async (store) => {
    const t0 = performance.now();
    const events = await loadRange(store.client, from, to);
    if (events.length === 0) {
      print(values['json'] ? { events: 0 } : 'no stored events in that range');
      return 0;
    }
    process.stderr.write(`recur: re-clustering ${events.length} events\n`);
    // Labels as the live clusterer makes them: class-based TF-IDF over words and adjacent pairs.
    const labeller = new Tokenizer({ bigrams: true });
    const version = Math.max(1, await maxModelVersion(store.client)) + 1;
    let dense: Float32Array[] | undefined;
    if (kind !== 'none') {
      const made = await createEmbedder({ kind, ...(config.cluster.modelDir ? { modelDir: `${config.cluster.modelDir}/${MODELS[kind].dirName}` } : {}) });
      if (!made.embedder) {
        process.stderr.write(`recur: embedder ${kind} unavailable: ${made.reason}\n`);
        return 1;
      }
      // Backfill fast path: one call for the whole range, so repeated texts are embedded once.
      dense = await made.embedder.embed(events.map((e) => e.description));
      await made.embedder.close();
    }
    const plan = planRerun(
      events.map((e) => {
        // The re-fit's features are the single words; the pairs (the only tokens with a space) are for labels.
        const labelTokens = labeller.tokenize(e.description);
        return { eventId: e.event_id, current: e.current, tokens: labelTokens.filter((t) => !t.includes(' ')), labelTokens };
      }),
      { k, seed, idPrefix: `c_v${version}_`, ...(dense ? { dense } : {}) },
    );
    for (const c of plan.clusters) c.topTerms = [...new Set(c.topTerms.map((t) => labeller.readable(t)))];
    const summary = {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      events: events.length,
      model_version: version,
      clusters_before: plan.before,
      clusters_after: plan.clusters.length,
      events_moved: plan.moved,
      kept: plan.clusters.filter((c) => !c.id.startsWith(`c_v${version}_`)).length,
      lineage: plan.lineage,
      /** Merged or retired within the range but with events outside it: their state is left as it was. */
      kept_outside: [] as string[],
      dry_run: Boolean(values['dry-run']),
      seconds: 0,
    };
    if (!values['dry-run']) {
      const rows = events.map((e, i) => {
        const id = plan.assignments[i]!;
        const t = Date.parse(`${e.occurred_at.replace(' ', 'T')}Z`);
        return {
          event_id: e.event_id, case_id: e.case_id, customer_id: e.customer_id, channel: e.channel, occurred_at: chTime(t),
          cluster_id: id, similarity: plan.similarities[i], model_version: version, cost: e.cost, handle_seconds: e.handle_seconds,
          csat: e.csat, nps: e.nps, effort: e.effort, product: e.product, category: e.category,
          source_topic: e.source_topic, source_partition: e.source_partition, source_offset: e.source_offset,
          ingested_at: e.ingested_at,
        };
      });
      // A token of this attempt's own: ClickHouse may record a token whose insert never committed (a kill),
      // and a later attempt under the same one would be dropped.
      const token = `rerun/v${version}/${from}-${to}/${randomUUID()}`;
      await rewriteRange(store.client, from, to, rows, version, token, (step) => {
        if (config.testing.crashAt === (step === 'inserted' ? 'rerun_before_delete' : 'rerun_after_delete')) process.kill(process.pid, 'SIGKILL');
      });
      // A kept cluster's size and first and last event span all its history, not only this range.
      const spans = await clusterSpans(store.client, plan.clusters.map((c) => c.id));
      const described = plan.clusters.map((c) => ({ ...c, size: spans.get(c.id)?.size ?? c.size, firstSeen: spans.get(c.id)?.firstSeen ?? from, lastSeen: spans.get(c.id)?.lastSeen ?? from }));
      const recorded = await recordRerun(store.client, version, described, plan.lineage, Date.now(), token, { fromMs: from, toMs: to });
      summary.kept_outside = recorded.keptOutside;
      log.info({ model_version: version, events: events.length, moved: plan.moved }, 'range re-clustered');
    }
    summary.seconds = Math.round((performance.now() - t0) / 10) / 100;
    if (values['json']) print(summary);
    else {
      const kinds = (k2: string) => plan.lineage.filter((l) => l.kind === k2).length;
      print(
        [
          `${summary.dry_run ? 'would re-cluster' : 're-clustered'} ${events.length} events (${summary.from} → ${summary.to}) as model v${version} in ${summary.seconds} s`,
          `clusters: ${plan.before} before, ${plan.clusters.length} after (${summary.kept} ids kept); ${plan.moved} events moved`,
          `lineage: ${kinds('split')} splits, ${kinds('merge')} merges, ${kinds('new')} new, ${kinds('retired')} retired`,
          ...(summary.kept_outside.length > 0
            ? [`  ${summary.kept_outside.length} of the clusters merged or retired in the range have events outside it and stay as they were`]
            : []),
          ...plan.lineage.slice(0, 20).map((l) => `  ${l.kind.padEnd(7)} ${l.from.join(', ') || '-'} → ${l.to.join(', ') || '-'}`),
          ...(plan.lineage.length > 20 ? [`  … ${plan.lineage.length - 20} more (--json lists all)`] : []),
        ].join('\n'),
      );
    }
    return 0;
  });
}
