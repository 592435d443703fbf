// The trend-alert payload every sink sends: one zod schema, `schemas/trend-alert.schema.json` generated
// from it by `scripts/gen-alert-schema.ts` (payload.test.ts fails when the two disagree).
import { z } from 'zod';
import { ALERT_KINDS, type AlertKind, type TrendEvent } from '../trends/episodes.js';
import { CLUSTER_STATUSES } from '../trends/alerts.js';
import { OWNER_REASONS, type OwnerReason, type OwnerRoute } from '../owners/index.js';

export const CLUSTER_ID_PATTERN = /^[A-Za-z0-9_:.-]+$/;
export { CLUSTER_STATUSES };
export const MAX_EXAMPLES = 5;
export const MAX_EXAMPLE_CHARS = 500;

const iso = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);

export const alertPayloadSchema = z
  .object({
    episode_id: z.string().min(1).max(128).describe('Stable id of the alert episode; one Kafka key and webhook thread per episode'),
    type: z.enum(['opened', 'updated', 'closed']),
    kind: z.enum(ALERT_KINDS as [AlertKind, ...AlertKind[]]),
    status: z.enum(['open', 'closed']).describe('Episode status after this event'),
    cluster_id: z.string().regex(CLUSTER_ID_PATTERN).max(256),
    label: z.string(),
    top_terms: z.array(z.string()),
    examples: z.array(z.string().max(MAX_EXAMPLE_CHARS)).max(MAX_EXAMPLES).describe('PII-masked example descriptions'),
    observed: z.number().min(0).describe('Distinct cases observed over the episode buckets'),
    expected: z.number().min(0).describe('Distinct cases the baseline expected over the same buckets'),
    score: z.number().describe('Latest bucket score'),
    window: z.object({ start: iso, end: iso }).describe('Event-time window of the episode: first bucket start to last bucket end'),
    cases: count.describe('Distinct cases in the window'),
    customers: count.describe('Distinct customers in the window'),
    channels: z.array(z.string()),
    cost_so_far: z.number().min(0).describe('Contact cost of the cluster in the window'),
    owner: z.string().min(1),
    owner_reason: z.enum(OWNER_REASONS as [OwnerReason, ...OwnerReason[]]),
    cluster_status: z.enum(CLUSTER_STATUSES),
    drill_down: z.object({
      sql: z.string().describe('Parameter-free query against v_cluster_trends for this cluster'),
      cli: z.string(),
    }),
    version: z.number().int().min(0).describe('Monotonic per episode (episode updated_at, ms): a receiver keeps the highest'),
    sent_at: iso.describe('When recur emitted this version'),
  })
  .describe('recur trend alert');

export type AlertPayload = z.infer<typeof alertPayloadSchema>;

export function alertPayloadJsonSchema(): unknown {
  return {
    $id: 'https://recur.dev/schemas/trend-alert.schema.json',
    // io 'input': no additionalProperties:false, so receivers validating with it accept fields added later.
    ...z.toJSONSchema(alertPayloadSchema, { target: 'draft-2020-12', io: 'input' }),
  };
}

/** Throws RangeError for a cluster id that could not be quoted safely (a programmer or data error). */
export function assertClusterId(id: string): string {
  if (!CLUSTER_ID_PATTERN.test(id) || id.length > 256) throw new RangeError(`unsafe cluster id ${JSON.stringify(id.slice(0, 80))}`);
  return id;
}

function chTime(ms: number): string {
  return `toDateTime('${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}', 'UTC')`;
}

const DAY_MS = 86_400_000;

/**
 * A ready query for an analyst: the cluster's hourly trend from a week before the episode to its end.
 * The id is whitelisted by CLUSTER_ID_PATTERN (no quote or backslash can reach the literal).
 */
export function drillDownSql(clusterId: string, window?: { startMs: number; endMs: number }): string {
  const id = assertClusterId(clusterId);
  const range = window ? ` AND bucket >= ${chTime(window.startMs - 7 * DAY_MS)} AND bucket < ${chTime(window.endMs)}` : '';
  return (
    'SELECT bucket, contacts, cases, customers, channels, cost, csat_avg, nps, effort_avg FROM v_cluster_trends ' +
    `WHERE cluster_id = '${id}'${range} ORDER BY bucket`
  );
}

export interface AlertContext {
  cluster: { label: string; topTerms: string[]; examples: string[]; status: (typeof CLUSTER_STATUSES)[number] };
  /** Totals of the cluster over the episode window (v_cluster_trends). */
  totals: { cases: number; customers: number; channels: string[]; cost: number };
  route: OwnerRoute;
  /** End (exclusive, ms) of the episode's last bucket. */
  windowEndMs: number;
  /** Now, ms. */
  sentAtMs: number;
  /** Defaults to episode.updatedAt; see EpisodeVersions for a strictly increasing one. */
  version?: number;
}

/** Pure: assembles and validates the payload of one trend event. Examples must already be masked. */
export function buildAlertPayload(ev: TrendEvent, ctx: AlertContext): AlertPayload {
  const ep = ev.episode;
  return alertPayloadSchema.parse({
    episode_id: ep.id,
    type: ev.type,
    kind: ep.kind,
    status: ep.status,
    cluster_id: assertClusterId(ep.clusterId),
    label: ctx.cluster.label,
    top_terms: ctx.cluster.topTerms,
    examples: ctx.cluster.examples.slice(0, MAX_EXAMPLES).map((e) => (e.length > MAX_EXAMPLE_CHARS ? `${e.slice(0, MAX_EXAMPLE_CHARS - 1)}…` : e)),
    observed: ep.observed,
    expected: ep.expected,
    score: Number.isFinite(ep.score) ? ep.score : 0,
    window: { start: new Date(ep.startBucket).toISOString(), end: new Date(ctx.windowEndMs).toISOString() },
    cases: ctx.totals.cases,
    customers: Math.max(ctx.totals.customers, ep.customers),
    channels: [...ctx.totals.channels].sort(),
    cost_so_far: ctx.totals.cost,
    owner: ctx.route.owner,
    owner_reason: ctx.route.reason,
    cluster_status: ctx.cluster.status,
    drill_down: {
      sql: drillDownSql(ep.clusterId, { startMs: ep.startBucket, endMs: ctx.windowEndMs }),
      cli: `recur show ${ep.clusterId}`,
    },
    version: ctx.version ?? ep.updatedAt,
    sent_at: new Date(ctx.sentAtMs).toISOString(),
  });
}

/**
 * Strictly increasing versions per episode: updated_at in ms, bumped by one when two events of one
 * episode share a millisecond (an update and a close in the same evaluation), so a receiver that keeps
 * the highest version and dedups by `episode_id.version` never drops the later one. Bounded memory.
 */
export class EpisodeVersions {
  /** Per episode: the last version given out, and the updated_at it was given for. */
  private readonly last = new Map<string, { version: number; updatedAt: number }>();
  constructor(private readonly max = 100_000) {}

  /** Whether a version of the episode was given out (among the newest `max` episodes). */
  has(episodeId: string): boolean {
    return this.last.has(episodeId);
  }

  /** The version of a new event of the episode. */
  next(episodeId: string, updatedAt: number): number {
    const prev = this.last.get(episodeId);
    const version = prev === undefined ? updatedAt : Math.max(updatedAt, prev.version + 1);
    this.last.delete(episodeId);
    this.last.set(episodeId, { version, updatedAt });
    if (this.last.size > this.max) this.last.delete(this.last.keys().next().value!);
    return version;
  }

  /**
   * The version of the episode's stored state (a redelivery, one sink at a time): the one given out last when it
   * was for this same updated_at, so every sink that missed it gets one version, under one webhook id. It was
   * bumped once per sink, and a receiver that had the version before the ledger recorded it took it as new.
   */
  of(episodeId: string, updatedAt: number): number {
    const prev = this.last.get(episodeId);
    return prev !== undefined && prev.updatedAt === updatedAt ? prev.version : this.next(episodeId, updatedAt);
  }
}
