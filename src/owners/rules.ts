// Routing rules as data: a cluster's terms, products, categories and channels → the owning team.
// Pure: no I/O; an analyst's pin (cluster id → team) always wins over the rules.
import { z } from 'zod';
import { Tokenizer } from '../text/tokenize.js';

const word = z.string().trim().min(1).max(100);

export const ownerRuleSchema = z
  .object({
    team: z.string().trim().min(1).max(100),
    /** Words, matched case-insensitively as whole words (by their stems) against the top terms and label. */
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
const stemmer = new Tokenizer({ stopWords: new Set(), minLength: 1, keepNumbers: true });
const splitter = new Tokenizer({ stopWords: new Set(), minLength: 1, keepNumbers: true, stem: false });
/**
 * Endings that keep a word's sense ("failure", "refunded", "errors"); "er" does not ("charger"), nor a bare
 * "d" or "y" ("fee" is not "feed", "car" not "card", "bus" not "busy"). After a doubled last letter:
 * "buggy", "bugged", "bugging" ("ad" alone does not make "add").
 */
const ENDINGS = '(?:s|es|ed|ing|ings|ure|ures|ies|ied)';
const AFTER_DOUBLED = '(?:y|ed|ing|ings|ies|ied)';

interface TermMatcher {
  /** ` a b ` to find among the stems or the words of one entry; '' when the term has symbols. */
  stems: string;
  /** The term as written, whole; for a word of letters also with a kept ending (or a doubled last letter: "buggy"). */
  re: RegExp;
}
const termCache = new Map<string, TermMatcher>();

/** A cluster's label and top terms as rules read them, tokenised once for all the rules. */
export interface Haystack {
  /** Lower-cased, entries apart (" | "): for terms matched as written. */
  text: string;
  /** Each entry's words, and their Porter stems, one space apart and padded (` card arriv `), entries apart ("|"). */
  words: string;
  stems: string;
}

function haystack(c: RoutableCluster): Haystack {
  const entries = [c.label, ...c.topTerms].map((e) => e.toLowerCase());
  return {
    // The separator keeps a term from matching across two entries.
    text: entries.join(' | '),
    words: entries.map((e) => ` ${splitter.tokenize(e).join(' ')} `).join('|'),
    stems: entries.map((e) => ` ${stemmer.tokenize(e).join(' ')} `).join('|'),
  };
}

/**
 * A rule term matches whole words of one entry (the label, or one top term): by its Porter stem against
 * the words' stems ("charge" finds "charged") or against words that are stems already (the cluster term
 * "charg"), or as written with an ending that keeps its sense ("fail" finds "failures"). "fee" does not
 * find "feedback", "charge" not "charger", "how" not "however". A term with symbols ("c++", ".net")
 * matches only as written.
 */
function termMatcher(term: string): TermMatcher {
  let m = termCache.get(term);
  if (!m) {
    const lower = term.toLowerCase();
    // Hyphens and spaces separate words ("top-up" is "top up" in labels and terms).
    const plain = /^[\p{L}\p{N}]+(?:[ -][\p{L}\p{N}]+)*$/u.test(lower);
    const single = /^\p{L}+$/u.test(lower);
    const tail = single ? `(?:${ENDINGS}|${escape(lower.at(-1)!)}${AFTER_DOUBLED})?` : '';
    const stems = plain ? stemmer.tokenize(lower).join(' ') : '';
    m = {
      stems: stems === '' ? '' : ` ${stems} `,
      re: new RegExp(`(?:^|[^\\p{L}\\p{N}])${escape(lower)}${tail}(?![\\p{L}\\p{N}])`, 'u'),
    };
    if (termCache.size > 10_000) termCache.clear();
    termCache.set(term, m);
  }
  return m;
}

function anyEqual(wanted: string[] | undefined, have: string[] | undefined): boolean {
  if (!wanted || wanted.length === 0) return true;
  if (!have || have.length === 0) return false;
  const set = new Set(have.map((h) => h.toLowerCase()));
  return wanted.some((w) => set.has(w.toLowerCase()));
}

/** Every dimension a rule names must match (AND); within a dimension any value may (OR). */
export function ruleMatches(rule: OwnerRule, cluster: RoutableCluster, hay: Haystack = haystack(cluster)): boolean {
  if (rule.terms && rule.terms.length > 0) {
    if (!rule.terms.some((t) => {
      const m = termMatcher(t.trim());
      return (m.stems !== '' && (hay.stems.includes(m.stems) || hay.words.includes(m.stems))) || m.re.test(hay.text);
    })) return false;
  }
  return (
    anyEqual(rule.products, cluster.products) &&
    anyEqual(rule.categories, cluster.categories) &&
    anyEqual(rule.channels, cluster.channels)
  );
}

/** The owner of a cluster: a pin, else the first matching rule, else the default owner. */
export function routeOwner(
  cluster: RoutableCluster,
  cfg: Pick<OwnersConfig, 'defaultOwner' | 'rules'>,
  pins: ReadonlyMap<string, string>,
): OwnerRoute {
  const pinned = pins.get(cluster.clusterId);
  if (pinned) return { owner: pinned, reason: 'pinned' };
  const hay = haystack(cluster);
  const i = cfg.rules.findIndex((r) => ruleMatches(r, cluster, hay));
  if (i >= 0) return { owner: cfg.rules[i]!.team, reason: 'rule', rule: i };
  return { owner: cfg.defaultOwner, reason: 'default' };
}
