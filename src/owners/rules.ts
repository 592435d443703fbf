// Routing rules as data: a cluster's terms, products, categories and channels → the owning team.
// Pure: no I/O; an analyst's pin (cluster id → team) always wins over the rules.
import { z } from 'zod';
import { Tokenizer } from '../text/tokenize.js';

const word = z.string().trim().min(1).max(100);

export const ownerRuleSchema = z
  .object({
    team: z.string().trim().min(1).max(100),
    /** Stems or words, matched case-insensitively as a word prefix against the top terms and label. */
    terms: z.array(word).optional(),
    products: z.array(word).optional(),
    categories: z.array(word).optional(),
    channels: z.array(word).optional(),
  })
  .refine((r) => [r.terms, r.products, r.categories, r.channels].some((c) => c !== undefined && c.length > 0), {
    message: 'a rule needs at least one of terms, products, categories, channels (use defaultOwner for a catch-all)',
  });

export type OwnerRule = z.infer<typeof ownerRuleSchema>;

export const DEFAULT_OWNER_RULES: OwnerRule[] = [
  { team: 'finance', terms: ['billing', 'fee', 'charge', 'refund', 'invoice'] },
  { team: 'documentation', terms: ['manual', 'how', 'guide', 'instruction', 'documentation'] },
  { team: 'manufacturing', terms: ['broken', 'defect', 'damaged', 'faulty'] },
  { team: 'engineering', terms: ['crash', 'error', 'bug', 'fail', 'freeze'] },
];

export const costSchema = z.object({
  perContact: z
    .object({
      phone: z.number().min(0).default(9),
      email: z.number().min(0).default(4),
      chat: z.number().min(0).default(3),
      social: z.number().min(0).default(5),
      web: z.number().min(0).default(2),
      other: z.number().min(0).default(3),
    })
    .prefault({}),
  /** When set, a contact costs handle_seconds × hourlyRate / 3600 (per-contact cost when handle time is unknown). */
  hourlyRate: z.number().positive().optional(),
});

export type CostConfig = z.infer<typeof costSchema>;

export const ownersConfigSchema = z.object({
  defaultOwner: z.string().trim().min(1).max(100).default('support-ops'),
  rules: z.array(ownerRuleSchema).default(() => DEFAULT_OWNER_RULES.map((r) => structuredClone(r))),
  cost: costSchema.prefault({}),
});

export type OwnersConfig = z.infer<typeof ownersConfigSchema>;

export interface RoutableCluster {
  clusterId: string;
  label: string;
  topTerms: string[];
  products?: string[];
  categories?: string[];
  channels?: string[];
}

export type OwnerReason = 'pinned' | 'rule' | 'default';
export const OWNER_REASONS: readonly OwnerReason[] = ['pinned', 'rule', 'default'];

export interface OwnerRoute {
  owner: string;
  reason: OwnerReason;
  /** Index of the matching rule in cfg.rules (reason 'rule' only). */
  rule?: number;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const termCache = new Map<string, RegExp>();

/** `term` at the start of a word of `text` (both lower-cased): "refund" matches "refunds", not "prefund". */
const stemmer = new Tokenizer({ stopWords: new Set(), minLength: 1 });

/**
 * A rule term matches the start of a word — as written, or as its Porter stem, because cluster terms
 * are stems ("charge" must find "charg", "refunds" must find "refund").
 */
function termRegex(term: string): RegExp {
  let re = termCache.get(term);
  if (!re) {
    const lower = term.toLowerCase();
    const stem = /^\p{L}+$/u.test(lower) ? (stemmer.tokenize(lower)[0] ?? lower) : lower;
    const alts = [...new Set([lower, stem])].map(escape).join('|');
    re = new RegExp(`(?:^|[^\\p{L}\\p{N}])(?:${alts})`, 'u');
    if (termCache.size > 10_000) termCache.clear();
    termCache.set(term, re);
  }
  return re;
}

function anyEqual(wanted: string[] | undefined, have: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  if (!have || have.length === 0) return false;
  const set = new Set(have.map((h) => h.toLowerCase()));
  return wanted.some((w) => set.has(w.toLowerCase()));
}

/** Every dimension a rule names must match (AND); within a dimension any value may (OR). */
export function ruleMatches(rule: OwnerRule, cluster: RoutableCluster, text?: string): boolean {
  if (rule.terms && rule.terms.length > 0) {
    const hay = text ?? haystack(cluster);
    if (!rule.terms.some((t) => termRegex(t.trim()).test(hay))) return false;
  }
  return (
    anyEqual(rule.products, cluster.products) &&
    anyEqual(rule.categories, cluster.categories) &&
    anyEqual(rule.channels, cluster.channels)
  );
}

function haystack(c: RoutableCluster): string {
  // Separator keeps a term from matching across the boundary of two entries.
  return [c.label, ...c.topTerms].join(' \u0000 ').toLowerCase();
}

/** The owner of a cluster: a pin, else the first matching rule, else the default owner. */
export function routeOwner(
  cluster: RoutableCluster,
  cfg: Pick<OwnersConfig, 'defaultOwner' | 'rules'>,
  pins: ReadonlyMap<string, string>,
): OwnerRoute {
  const pinned = pins.get(cluster.clusterId);
  if (pinned) return { owner: pinned, reason: 'pinned' };
  const text = haystack(cluster);
  const i = cfg.rules.findIndex((r) => ruleMatches(r, cluster, text));
  if (i >= 0) return { owner: cfg.rules[i]!.team, reason: 'rule', rule: i };
  return { owner: cfg.defaultOwner, reason: 'default' };
}
