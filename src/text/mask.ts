// PII masking as data: an ordered list of regex rules (defaults plus config extras), each replacing its
// matches with a placeholder. Pure, and linear on hostile input: every quantifier that can backtrack is bounded.

/** One masking rule. JSON-serialisable so the YAML config can add rules (config `mask.extraRules`). */
export interface MaskRuleSpec {
  /** snake_case; the key in `hits`. An extra rule with a default's name replaces that default in place. */
  name: string;
  /** JavaScript RegExp source. Keep quantifiers bounded ({0,64}, not *) to stay linear. */
  pattern: string;
  /** RegExp flags from "imsuv"; "g" is always added. */
  flags?: string;
  /** Literal text (no $1 expansion). Default `<NAME>`, the upper-cased rule name in angle brackets. */
  replacement?: string;
  /** A match is replaced only if this check passes; otherwise it is left as it is. */
  validate?: MaskValidator;
}

export type MaskValidator = 'luhn' | 'iban' | 'phone';

export interface CompiledMaskRule {
  readonly name: string;
  readonly replacement: string;
  readonly regex: RegExp;
  readonly check: ((match: string) => boolean) | undefined;
}

export interface CompiledMaskRules {
  readonly rules: readonly CompiledMaskRule[];
}

export interface MaskResult {
  text: string;
  /** Matches replaced per rule name; rules that did not fire are absent. */
  hits: Record<string, number>;
}

// Boundaries: a match must not start or end inside a word or a longer number.
const NOT_AFTER_WORD = String.raw`(?<![\p{L}\p{N}_])`;
const NOT_BEFORE_WORD = String.raw`(?![\p{L}\p{N}_])`;
const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
const IPV4 = String.raw`(?:${OCTET}\.){3}${OCTET}`;
const H16 = '[0-9a-f]{1,4}';
// RFC 4291 §2.2 text forms, embedded-IPv4 forms first so "::ffff:1.2.3.4" is one match. Every form other
// than the full eight groups needs "::", which keeps times (10:30:15) and MAC addresses out.
const IPV6 = [
  `(?:${H16}:){6}${IPV4}`,
  `(?:${H16}:){1,4}:${IPV4}`,
  `::(?:ffff(?::0{1,4})?:)?${IPV4}`,
  `(?:${H16}:){7}${H16}`,
  `(?:${H16}:){1,6}:${H16}`,
  `(?:${H16}:){1,5}(?::${H16}){1,2}`,
  `(?:${H16}:){1,4}(?::${H16}){1,3}`,
  `(?:${H16}:){1,3}(?::${H16}){1,4}`,
  `(?:${H16}:){1,2}(?::${H16}){1,5}`,
  `${H16}:(?::${H16}){1,6}`,
].join('|');
// Words that introduce an id; the word is kept and only the id is masked ("ticket <ORDER_ID>").
const ID_KEYWORDS = [
  'order', 'ticket', 'case', 'account', 'acct', 'reference', 'ref', 'invoice', 'tracking', 'booking',
  'transaction', 'confirmation', 'claim', 'bestellung', 'bestellnummer', 'auftrag', 'rechnung', 'kundennummer',
  'commande', 'facture', 'dossier', 'pedido', 'factura', 'ordine', 'fattura',
].join('|');
const ID_INTRO = String.raw`${NOT_AFTER_WORD}(?:${ID_KEYWORDS})s?(?:[ \t-]{0,3}(?:number|num|nr|no|n°|id|code)\.?)?(?:[ \t]{0,3}(?:is|was|:|=))?[ \t]{0,3}#?[ \t]{0,2}`;
// Phone groups are separated by exactly one of " .-" (or an area code in parentheses) so that a digit run
// can be split into groups in one way only: no backtracking blow-up on long digit strings.
const PHONE_HEAD = String.raw`(?:\+\d{1,14}|\(\+?\d{1,5}\)[ .\-]?\d{1,14}|\d{1,14})`;
const PHONE_TAIL = String.raw`(?:[ .\-]?\(\d{1,5}\)[ .\-]?\d{1,14}|[ .\-]\d{1,14})`;
// Dates are not phone numbers: "2024-03-15", "15.03.2024" (but "06.12.34.56.78" is a French phone number).
const NOT_A_DATE = String.raw`(?!(?:\d{4}[.\/\-]\d{1,2}[.\/\-]\d{1,2}|\d{1,2}[.\/\-]\d{1,2}[.\/\-]\d{2,4})(?![.\/\-]?\d))`;

/**
 * The default rules, in the order they run. Order is part of the contract: a rule only sees what earlier
 * rules left, and placeholders contain no digits, "@" or "://", so later rules never re-match them.
 */
export const defaultMaskRules: readonly MaskRuleSpec[] = Object.freeze(
  [
    // URLs first: a URL may carry an e-mail (?to=a@b.com), an IP, ids and long numbers; one <URL> is right.
    // Trailing sentence punctuation and ")" are not part of the URL.
    {
      name: 'url',
      pattern: String.raw`(?<![\p{L}\p{N}_@.\/\-])(?:https?:\/\/|www\.)[^\s<>"'\x60]{0,2047}[^\s<>"'\x60.,;:!?)\]}]`,
      flags: 'iu',
      replacement: '<URL>',
    },
    // E-mail before every digit rule: local parts hold digit runs and dots ("j.doe.1984@…").
    {
      name: 'email',
      pattern: String.raw`(?<![\p{L}\p{N}_%+\-])[\p{L}\p{N}](?:[\p{L}\p{N}._%+\-]{0,62}[\p{L}\p{N}_%+\-])?@(?:[\p{L}\p{N}](?:[\p{L}\p{N}\-]{0,61}[\p{L}\p{N}])?\.){1,8}\p{L}{2,24}(?![\p{L}\p{N}_\-]|\.[\p{L}\p{N}])`,
      flags: 'u',
      replacement: '<EMAIL>',
    },
    // IBAN before card and phone: its digit groups look like both. Upper case only (as printed by banks),
    // so a following short word is not swallowed as a last group; mod-97 and country length decide.
    {
      name: 'iban',
      pattern: String.raw`${NOT_AFTER_WORD}[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?${NOT_BEFORE_WORD}`,
      flags: 'u',
      replacement: '<IBAN>',
      validate: 'iban',
    },
    // Cards before phone (4-4-4-4 reads as a phone number too): contiguous, 4-4-4-4(-3) or Amex 4-6-5 with
    // one consistent separator, Luhn-valid only. A Luhn-invalid candidate falls through to phone/number.
    {
      name: 'card',
      pattern: String.raw`(?<![\p{L}\p{N}_+.,\/\-])(?:\d{13,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ \-])\d{6}\2\d{4,5})(?![\p{L}\p{N}_]|[.,]\d)`,
      flags: 'u',
      replacement: '<CARD>',
      validate: 'luhn',
    },
    // IPs before phone: "192.168.1.20" is ten digits with dots. IPv6 first so an embedded IPv4 stays inside.
    {
      name: 'ipv6',
      pattern: String.raw`(?<![\p{L}\p{N}_:.])(?:${IPV6})(?![\p{L}\p{N}_:]|\.\d)`,
      flags: 'iu',
      replacement: '<IP>',
    },
    // Four-part version numbers are the usual false positive: not after "version", "build", "v".
    {
      name: 'ipv4',
      pattern: String.raw`(?<![\p{L}\p{N}_.]|${NOT_AFTER_WORD}(?:version|ver|build|release|firmware|v)[ .:]{0,2})${IPV4}(?![\p{L}\p{N}_]|\.\d)`,
      flags: 'iu',
      replacement: '<IP>',
    },
    // Keyword ids before phone/number so "account no. 12345678" keeps its keyword. The id needs a digit and
    // 4+ characters, so "order 2 cards", "ticket #12" and amounts ("transaction 12.50") are left alone.
    {
      name: 'order_id',
      pattern: String.raw`(?<=${ID_INTRO})(?=[A-Z0-9\/\-]{0,40}\d)[A-Z0-9][A-Z0-9\/\-]{2,38}[A-Z0-9](?![\p{L}\p{N}_]|[.,:\/\-][A-Z0-9])`,
      flags: 'iu',
      replacement: '<ORDER_ID>',
    },
    // Phones: +CC or national, 7+ digits; the 'phone' check drops amounts, versions and bare digit runs.
    {
      name: 'phone',
      pattern: String.raw`(?<![\p{L}\p{N}_+\/.,:$£€¥₹#@\-])${NOT_A_DATE}${PHONE_HEAD}${PHONE_TAIL}{0,7}(?![\p{L}\p{N}_%]|[.,:\/\-]?\d)`,
      flags: 'u',
      replacement: '<PHONE>',
      validate: 'phone',
    },
    // Fallback: any 8+ digit run nothing above claimed (account numbers, bare card-like runs), except hex
    // literals such as error 0x80070005, which identify a problem rather than a person.
    {
      name: 'number',
      pattern: String.raw`(?<!\d|0x[0-9a-f]{0,16})\d{8,}(?!\d)`,
      flags: 'i',
      replacement: '<NUMBER>',
    },
  ].map((r) => Object.freeze(r as MaskRuleSpec)),
);

/** Luhn (mod 10) over the digits of `s`; separators are ignored. Needs at least two digits. */
export function luhnValid(s: string): boolean {
  let sum = 0;
  let n = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) continue;
    sum += n++ % 2 === 1 ? (c * 2 > 9 ? c * 2 - 9 : c * 2) : c;
  }
  return n >= 2 && sum % 10 === 0;
}

// IBAN length per country (SWIFT IBAN registry); unlisted countries only need 15–34 characters.
const IBAN_LENGTH: Readonly<Record<string, number>> = Object.freeze({
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24,
  ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23,
  ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
});

/** ISO 13616 IBAN: country length and the mod-97 check (ISO 7064). Spaces are ignored; case is not. */
export function ibanValid(s: string): boolean {
  const iban = s.replace(/ /g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const expected = IBAN_LENGTH[iban.slice(0, 2)];
  if (expected !== undefined && iban.length !== expected) return false;
  // Rotate the first four characters to the end, read letters as 10..35, and reduce mod 97 as we go.
  const rotated = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rotated.length; i++) {
    const c = rotated.charCodeAt(i);
    rem = c >= 65 ? (rem * 100 + (c - 55)) % 97 : (rem * 10 + (c - 48)) % 97;
  }
  return rem === 1;
}

const AMOUNT = /^[1-9]\d{0,2}(?:[ .]\d{3})+$/;
const YEAR_RANGE = /^(?:19|20)\d\d-(?:19|20)\d\d$/;

/**
 * Is a 'phone' candidate a phone number? 7+ digits; a bare run only with a trunk 0 (others are left to the
 * <NUMBER> fallback); not a thousands-grouped amount ("1 250 000"), a year range ("2019-2024") or a dotted
 * version ("10.0.19045"); at most one single-digit group after the country code ("+33 6 12 34 56 78").
 */
export function phoneLike(s: string): boolean {
  const groups = s.split(/[^0-9]+/).filter((g) => g.length > 0);
  let digits = 0;
  for (const g of groups) digits += g.length;
  if (digits < 7) return false;
  const intl = s.startsWith('+') || s.startsWith('00');
  if (groups.length === 1) return intl || s.startsWith('0');
  if (!intl && !s.includes('(') && (AMOUNT.test(s) || YEAR_RANGE.test(s))) return false;
  let singles = 0;
  for (let i = intl ? 1 : 0; i < groups.length; i++) if (groups[i]!.length === 1) singles++;
  if (s.includes('.') && singles > 0) return false;
  return singles <= 1;
}

const VALIDATORS: Readonly<Record<MaskValidator, (match: string) => boolean>> = {
  luhn: luhnValid,
  iban: ibanValid,
  phone: phoneLike,
};

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
const FLAGS_RE = /^[imsuv]*$/;

function compileOne(spec: MaskRuleSpec, index: number): CompiledMaskRule {
  const where = `mask rule #${index + 1}${typeof spec?.name === 'string' ? ` "${spec.name}"` : ''}`;
  const fail = (msg: string, cause?: unknown): never => {
    throw new Error(`${where}: ${msg}`, cause === undefined ? undefined : { cause });
  };
  if (typeof spec !== 'object' || spec === null) return fail('must be an object');
  if (typeof spec.name !== 'string' || !NAME_RE.test(spec.name)) {
    fail(`name must be snake_case (${NAME_RE.source}), got ${JSON.stringify(spec.name)}`);
  }
  if (typeof spec.pattern !== 'string' || spec.pattern.length === 0) fail('pattern must be a non-empty string');
  const flags = spec.flags ?? '';
  if (typeof flags !== 'string' || !FLAGS_RE.test(flags)) {
    fail(`flags must use only "imsuv" ("g" is implied), got ${JSON.stringify(spec.flags)}`);
  }
  if (spec.validate !== undefined && !Object.hasOwn(VALIDATORS, spec.validate)) {
    fail(`validate must be one of ${Object.keys(VALIDATORS).join(', ')}, got ${JSON.stringify(spec.validate)}`);
  }
  if (spec.replacement !== undefined && typeof spec.replacement !== 'string') fail('replacement must be a string');
  let regex: RegExp;
  try {
    regex = new RegExp(spec.pattern, `g${flags}`);
  } catch (err) {
    return fail(`invalid pattern /${spec.pattern}/${flags}: ${(err as Error).message}`, err);
  }
  if (regex.test('')) fail(`pattern /${spec.pattern}/ matches the empty string`);
  regex.lastIndex = 0;
  return {
    name: spec.name,
    replacement: spec.replacement ?? `<${spec.name.toUpperCase()}>`,
    regex,
    check: spec.validate === undefined ? undefined : VALIDATORS[spec.validate],
  };
}

// Extra rules run right after url and email (which contain arbitrary text) and before the numeric rules,
// so a specific config id ("CUST-12345678") wins over the phone and number heuristics.
const EXTRAS_AFTER = 'email';

/**
 * Compiles the defaults plus `extra` rules. Throws an Error naming the bad rule on invalid input, and when
 * a rule's replacement would itself be masked (masking must be idempotent).
 */
export function compileMaskRules(extra: readonly MaskRuleSpec[] = []): CompiledMaskRules {
  if (!Array.isArray(extra)) throw new Error('mask rules: extra rules must be an array');
  const specs = [...defaultMaskRules];
  const added: MaskRuleSpec[] = [];
  const seen = new Set<string>();
  for (const [i, spec] of extra.entries()) {
    const compiled = compileOne(spec, i); // validates before we look at the name
    if (seen.has(compiled.name)) throw new Error(`mask rule #${i + 1} "${compiled.name}": duplicate name`);
    seen.add(compiled.name);
    const at = specs.findIndex((d) => d.name === compiled.name);
    if (at >= 0) specs[at] = spec;
    else added.push(spec);
  }
  specs.splice(specs.findIndex((d) => d.name === EXTRAS_AFTER) + 1, 0, ...added);
  const result: CompiledMaskRules = { rules: Object.freeze(specs.map(compileOne)) };
  for (const rule of result.rules) {
    const again = maskPii(rule.replacement, result);
    if (again.text !== rule.replacement) {
      throw new Error(`mask rule "${rule.name}": replacement ${JSON.stringify(rule.replacement)} is masked again by "${Object.keys(again.hits).join('", "')}"`);
    }
  }
  return result;
}

let defaultRules: CompiledMaskRules | undefined;

/** Replaces PII in `text` with placeholders; `hits` counts replacements per rule that fired. */
export function maskPii(text: string, rules?: CompiledMaskRules): MaskResult {
  const compiled = rules ?? (defaultRules ??= compileMaskRules());
  const hits: Record<string, number> = {};
  let out = text;
  for (const rule of compiled.rules) {
    let n = 0;
    const check = rule.check;
    out = out.replace(rule.regex, (m: string) => {
      if (m.length === 0 || (check !== undefined && !check(m))) return m;
      n++;
      return rule.replacement;
    });
    if (n > 0) hits[rule.name] = n; // names are unique (compileMaskRules)
  }
  return { text: out, hits };
}
