// PII masking as data: an ordered list of regex rules (defaults plus config extras), each replacing its
// matches with a placeholder. Pure, and linear on hostile input: every backtracking quantifier is bounded.

/** One masking rule. JSON-serialisable so the YAML config can add rules (config `mask.extraRules`). */
export interface MaskRuleSpec {
  /** snake_case; the key in `hits`. An extra rule with a default's name replaces that default in place. */
  name: string;
  /** JavaScript RegExp source. Keep quantifiers bounded ({0,64}, not *) to stay linear. */
  pattern: string;
  /** RegExp flags from "imsuv"; "g" is always added. */
  flags?: string;
  /**
   * Default `<NAME>` (the upper-cased name). String.prototype.replace references work: `$<group>`, `$1`,
   * `$&`, `$$` — e.g. `$<intro><ORDER_ID>` keeps the keyword a match starts with.
   */
  replacement?: string;
  /** A match is replaced only if this check passes; otherwise it is left as it is. */
  validate?: MaskValidator;
}

export type MaskValidator = 'luhn' | 'iban' | 'phone';

/** Compiled rules, in run order. Build with compileMaskRules; treat as opaque. */
export interface CompiledMaskRules {
  readonly rules: readonly CompiledMaskRule[];
}

export interface CompiledMaskRule {
  readonly name: string;
  readonly regex: RegExp;
  /** Which cheap pre-check must pass for the rule to run at all (built-in patterns only). */
  readonly gate: MaskGate | undefined;
  /** The String.prototype.replace callback; counts what it replaces in `fired`. */
  readonly replacer: (match: string, ...rest: unknown[]) => string;
  /** The replacement with group references ($<x>, $1, $&) removed, for the idempotency check. */
  readonly placeholder: string;
}

/** A cheap pre-check: the fewest digits a match holds, or a character test ("@", IPv6 colons, URL start). */
export type MaskGate = number | 'at' | 'ipv6' | 'url';

export interface MaskResult {
  text: string;
  /** Matches replaced per rule name; rules that did not fire are absent. Shared (frozen) when none fired. */
  hits: Readonly<Record<string, number>>;
}

// A match must not start or end inside a word or a longer number. Word boundaries are ASCII (\w, no "u"
// flag): CJK text glues numbers to words ("我的IP是10.1.2.3") and must still be masked, and the "u" flag
// makes V8 several times slower on these patterns. A placeholder of these rules counts as a word on either
// side, so masked text never offers a boundary the original lacked and masking twice changes nothing; any
// other "<" or ">" is a boundary ("<td>john@example.com</td>", "phone->07700900123").
export const PLACEHOLDERS = ['URL', 'EMAIL', 'IBAN', 'CARD', 'IP', 'ORDER_ID', 'PHONE', 'NUMBER'] as const;
const PH = `<(?:${PLACEHOLDERS.join('|')})>`;
const NOT_AFTER_WORD = String.raw`(?<!\w|${PH})`;
const NOT_BEFORE_WORD = String.raw`(?!\w|${PH})`;
const EMAIL_CH = String.raw`\w\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff`;
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
const ID_INTRO = String.raw`${NOT_AFTER_WORD}(?<intro>(?:${ID_KEYWORDS})s?(?:[ \t-]{0,3}(?:number|num|nr|no|n°|id|code)\.?)?(?:[ \t]{0,3}(?:is|was|:|=))?[ \t]{0,3}#?[ \t]{0,2})`;
// The top-level domains a link without a scheme is recognised by: a country's two letters, or a common generic
// one. Any word would do otherwise, and a sentence missing its space ("It crashed.Restart/reinstall") was a link.
const BARE_TLD = String.raw`(?:[a-z]{2}|com|org|net|edu|gov|mil|int|info|biz|app|dev|online|site|shop|store|tech|cloud|xyz|top)`;
// Phone groups are separated by exactly one of " .-" (or an area code in parentheses) so that a digit run
// can be split into groups in one way only: no backtracking blow-up on long digit strings.
const PHONE_HEAD = String.raw`(?:\+\d{1,14}|\(\+?\d{1,5}\)[ .\-\u2013]?\d{1,14}|\d{1,14})`;
const PHONE_TAIL = String.raw`(?:[ .\-\u2013]?\(\d{1,5}\)[ .\-\u2013]?\d{1,14}|[ .\-\u2013]\d{1,14})`;
// Dates are not phone numbers: "2024-03-15", "15.03.2024" (but "06.12.34.56.78" is a French phone number).
const NOT_A_DATE = String.raw`(?!(?:\d{4}[.\/\-\u2013]\d{1,2}[.\/\-\u2013]\d{1,2}|\d{1,2}[.\/\-\u2013]\d{1,2}[.\/\-\u2013]\d{2,4})(?![.\/\-\u2013]?\d))`;

/**
 * The default rules, in the order they run. Order is part of the contract: a rule only sees what earlier
 * rules left, and placeholders contain no digits, "@" or "://", so later rules never re-match them.
 * `gate` skips a rule cheaply when the text cannot match (too few digits, no "@", no "::"): most
 * descriptions have no digits at all, and one digit count costs less than a single regex scan.
 */
const BUILT_IN: ReadonlyArray<MaskRuleSpec & { gate?: MaskGate }> = [
  // URLs first: a URL may carry an e-mail (?to=a@b.com), an IP, ids and long numbers; one <URL> is right.
  // Trailing sentence punctuation and ")" are not part of the URL. Without a scheme, a host name and a path
  // ("example.com/reset?token=…": a link pasted from an address bar carries its tokens too).
  {
    name: 'url',
    pattern: String.raw`(?<![\w@.\/\-]|${PH})(?:https?:\/\/|www\.|(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.){1,8}${BARE_TLD}\/)[^\s<>"'\x60]{0,2047}[^\s<>"'\x60.,;:!?)\]}]`,
    flags: 'i',
    replacement: '<URL>',
    gate: 'url',
  },
  // E-mail before every digit rule: local parts hold digit runs and dots ("j.doe.1984@…"). Letters are
  // ASCII, Latin, Greek and Cyrillic (jürgen@müller.de) but not CJK, which has no spaces to stop at. A
  // match starts only where a local part can start ("a.b" never restarts at "b"): linear on "a.a.a…".
  {
    name: 'email',
    pattern: String.raw`(?<![${EMAIL_CH}%+\-]|[${EMAIL_CH}][.']|${PH})[${EMAIL_CH}](?:[${EMAIL_CH}.'%+\-]{0,62}[${EMAIL_CH}%+\-])?@(?:[${EMAIL_CH}](?:[${EMAIL_CH}\-]{0,61}[${EMAIL_CH}])?\.){1,8}[A-Za-z\u00c0-\u024f\u0370-\u04ff]{2,24}(?![${EMAIL_CH}\-]|\.[${EMAIL_CH}]|${PH})`,
    replacement: '<EMAIL>',
    gate: 'at',
  },
  // IBAN before card and phone: its digit groups look like both. Upper case only (as printed by banks),
  // so a following short word is not swallowed as a last group; mod-97 and country length decide.
  {
    name: 'iban',
    pattern: String.raw`${NOT_AFTER_WORD}[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?${NOT_BEFORE_WORD}`,
    replacement: '<IBAN>',
    validate: 'iban',
    gate: 2,
  },
  // Cards before phone (4-4-4-4 reads as a phone number too): contiguous, 4-4-4-4(-3) or Amex 4-6-5 with
  // one consistent separator, Luhn-valid only, issuer prefix 3-6 or 22-27 (Mastercard 2-series, Mir) so
  // that timestamps (20240315103000, one in ten passes Luhn) are not cards. Others fall to <NUMBER>.
  {
    name: 'card',
    pattern: String.raw`(?<![\w+.,\/\-]|${PH})(?=[3-6]|2[2-7])(?:\d{13,19}|\d{4}([ .\-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|\d{4}([ \-])\d{6}\2\d{4,5})(?!\w|[.,]\d|${PH})`,
    replacement: '<CARD>',
    validate: 'luhn',
    gate: 13,
  },
  // IPs before phone: "192.168.1.20" is ten digits with dots. IPv6 first so an embedded IPv4 stays inside.
  {
    name: 'ipv6',
    pattern: String.raw`(?<![\w:.]|${PH})(?:${IPV6})(?![\w:]|\.\d|${PH})`,
    flags: 'i',
    replacement: '<IP>',
    gate: 'ipv6',
  },
  // Four-part version numbers are the usual false positive: not after "version", "build", "v".
  {
    name: 'ipv4',
    pattern: String.raw`(?<![\w.]|${PH}|\b(?:version|ver|build|release|firmware|update|v)[ .:]{0,2})${IPV4}(?!\w|\.\d|${PH})`,
    flags: 'i',
    replacement: '<IP>',
    gate: 4,
  },
  // Keyword ids before phone/number so "account no. 12345678" keeps its keyword. The id needs a digit and
  // 4+ characters, so "order 2 cards", "ticket #12" and amounts ("transaction 12.50") are left alone.
  // A forward match that puts the keyword back ($<intro>), not a lookbehind: V8 tries a leading
  // lookbehind at every position, which measured ~50x slower. A trunk 0 and digits that go on after a space
  // ("account number 07700 900123") are a phone's groups, not an id: left whole to the phone rule.
  {
    name: 'order_id',
    pattern: String.raw`${ID_INTRO}(?!0\d+ \d{3})(?=[A-Z0-9\/\-]{0,40}\d)[A-Z0-9][A-Z0-9\/\-]{2,38}[A-Z0-9](?!\w|[.,:\/\-][A-Z0-9]|${PH})`,
    flags: 'i',
    replacement: '$<intro><ORDER_ID>',
    gate: 1,
  },
  // Phones: +CC or national, 7-15 digits; the 'phone' check drops amounts, versions and bare digit runs
  // (those go to <NUMBER>), and splits runs of numbers side by side (see maskPhones). Glued to a word by
  // ":", "#" or "." ("Tel:030-901820", "nr.0170 1234567") a number starts there, as signatures write them.
  {
    name: 'phone',
    pattern: String.raw`(?:(?<=[A-Za-z][:#.])|(?<![\w+\/.,:$£€¥₹#@\-]|${PH}))${NOT_A_DATE}${PHONE_HEAD}${PHONE_TAIL}{0,15}(?![\w%]|[.,:\/\-]?\d|${PH})`,
    replacement: '<PHONE>',
    validate: 'phone',
    gate: 7,
  },
  // Fallback: any 8+ digit run nothing above claimed (account numbers, Luhn-invalid cards, CJK-glued
  // mobiles), also in 4-digit groups ("4111 1111 1111 1112"), except hex literals such as 0x80070005.
  {
    name: 'number',
    pattern: String.raw`(?<!\d|0x[0-9a-f]{0,16}|${PH})(?:\d{8,}|\d{4}(?:[ \-]\d{4}){2,})(?!\d)`,
    flags: 'i',
    replacement: '<NUMBER>',
    gate: 8,
  },
];

export const defaultMaskRules: readonly MaskRuleSpec[] = Object.freeze(
  BUILT_IN.map(({ gate: _gate, ...spec }) => Object.freeze(spec)),
);

// A gate is a property of a pattern, so a config rule that reuses a built-in pattern keeps its gate.
const GATE_BY_PATTERN = new Map(BUILT_IN.map((r) => [r.pattern, r.gate]));
const MAX_DIGIT_GATE = Math.max(...BUILT_IN.map((r) => (typeof r.gate === 'number' ? r.gate : 0)));

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
const DATE = /^(?:\d{4}[.\/\-\u2013]\d{1,2}[.\/\-\u2013]\d{1,2}|\d{1,2}[.\/\-\u2013]\d{1,2}[.\/\-\u2013]\d{2,4})$/;
const YEAR_RANGE = /^(?:19|20)\d\d[-\u2013](?:19|20)\d\d$/;
// Side by side, what no phone number looks like: amounts with cents ("12.99 12.99", "100,50 200,75"), years
// ("1999 2000 2001"), a date with spaces ("12 03 2024").
const AMOUNTS = /^\d{1,6}[.,]\d{2}(?: \d{1,6}[.,]\d{2})+$/;
const YEARS = /^(?:19|20)\d\d(?: (?:19|20)\d\d)+$/;
const SPACED_DATE = /^(?:0?[1-9]|[12]\d|3[01]) (?:0?[1-9]|[12]\d|3[01]) (?:19|20)\d\d$/;

/**
 * Is a 'phone' candidate a phone number? 7–15 digits; a bare run only with a trunk 0 or "+" (others are
 * left to the <NUMBER> fallback); a national number opens with an area code of at most 5 digits; not a
 * thousands-grouped amount ("1 250 000"), amounts with cents or years side by side, a date (also with
 * spaces), a year range ("2019-2024"), a decimal or a dotted
 * version ("22631.3155", "10.0.19045"); at most one one-digit group after the country code
 * ("+33 6 12 34 56 78").
 */
export function phoneLike(s: string): boolean {
  const intl = s.startsWith('+') || s.startsWith('00');
  const { digits, groups, singles, first } = digitGroups(s, intl);
  if (digits < 7 || digits > 15) return false; // E.164 allows 15
  if (groups === 1) return intl || s.startsWith('0');
  if (!intl && first > 5) return false; // a national number opens with its area code
  if (!intl && !s.includes('(') && (AMOUNT.test(s) || YEAR_RANGE.test(s) || DATE.test(s) || AMOUNTS.test(s) || YEARS.test(s) || SPACED_DATE.test(s))) return false;
  if (s.includes('.') && (singles > 0 || groups < 3)) return false; // 10.0.19045, 22631.3155
  return singles <= 1;
}

/** Digits, groups, one-digit groups (an international prefix is not one) and the first group's size. */
function digitGroups(s: string, intl: boolean): { digits: number; groups: number; singles: number; first: number } {
  let first = 0;
  let digits = 0;
  let groups = 0;
  let singles = 0;
  let run = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0;
    if (c >= 48 && c <= 57) run++;
    else if (run > 0) {
      if (run === 1 && !(intl && groups === 0)) singles++;
      if (groups === 0) first = run;
      digits += run;
      groups++;
      run = 0;
    }
  }
  return { digits, groups, singles, first };
}

// A phone candidate with too many digits may be numbers side by side ("ID 12345678 07700 900123"): retry
// from each space, longest phone-like span first. Otherwise the later <NUMBER> rule would split the run
// and a second pass would find the phone: masking would not be idempotent. Spans that cannot pass (over
// 15 digits, two one-digit groups) are never tried, which keeps hostile runs ("1 1 1 1 …") linear.
function maskPhones(run: string, placeholder: string): string {
  if (phoneLike(run)) {
    fired++;
    return placeholder;
  }
  if (digitGroups(run, false).digits <= 15) return run;
  const words = run.split(' ');
  // Equal-width groups are one number (a card with a typo, an account), left for <NUMBER>.
  if (words.every((w) => w.length === words[0]!.length)) return run;
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    const intl = words[i]!.startsWith('+') || words[i]!.startsWith('00');
    let end = i;
    for (let digits = 0, singles = 0; end < words.length; end++) {
      const g = digitGroups(words[end]!, intl && end === i);
      if ((digits += g.digits) > 15 || (singles += g.singles) > 1) break;
    }
    let j = end;
    while (j > i && !phoneLike(words.slice(i, j).join(' '))) j--;
    if (j > i) {
      fired++;
      out.push(placeholder);
      i = j;
    } else out.push(words[i++]!);
  }
  return out.join(' ');
}

const VALIDATORS: Readonly<Record<MaskValidator, (match: string) => boolean>> = {
  luhn: luhnValid,
  iban: ibanValid,
  phone: phoneLike,
};

const NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;
const FLAGS_RE = /^[imsuv]*$/;
const TEMPLATE_REF = /\$(?:<([^>]*)>|(\d{1,2})|(&)|\$)/g;
type Part = string | number | { group: string }; // number: capture index, 0 = the whole match

// Matches replaced by the running replace() call. Module state is safe: replace is synchronous and the
// replacers never re-enter maskPii.
let fired = 0;

function compileOne(spec: MaskRuleSpec, index: number): CompiledMaskRule {
  const where = `mask rule #${index + 1}${typeof spec?.name === 'string' ? ` "${spec.name}"` : ''}`;
  const fail: (msg: string, cause?: unknown) => never = (msg, cause) => {
    throw new Error(`${where}: ${msg}`, cause === undefined ? undefined : { cause });
  };
  if (typeof spec !== 'object' || spec === null) fail('must be an object');
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
  const template = spec.replacement ?? `<${spec.name.toUpperCase()}>`;
  if (typeof template !== 'string') fail('replacement must be a string');
  let regex: RegExp;
  let groupCount: number;
  try {
    regex = new RegExp(spec.pattern, `g${flags}`);
    groupCount = new RegExp(`${spec.pattern}|`, flags).exec('')!.length - 1;
  } catch (err) {
    return fail(`invalid pattern /${spec.pattern}/${flags}: ${(err as Error).message}`, err);
  }
  if (regex.test('')) fail(`pattern /${spec.pattern}/ matches the empty string`);
  regex.lastIndex = 0;

  const parts = parseTemplate(template, spec.pattern, groupCount, fail);
  return {
    name: spec.name,
    regex,
    gate: GATE_BY_PATTERN.get(spec.pattern),
    replacer: makeReplacer(parts, groupCount, spec.validate),
    placeholder: parts.filter((p) => typeof p === 'string').join(''),
  };
}

function parseTemplate(template: string, pattern: string, groupCount: number, fail: (msg: string) => never): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(TEMPLATE_REF)) {
    parts.push(template.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      if (!pattern.includes(`(?<${m[1]}>`)) fail(`replacement refers to $<${m[1]}>, which the pattern lacks`);
      parts.push({ group: m[1] });
    } else if (m[2] !== undefined) {
      if (Number(m[2]) > groupCount) fail(`replacement refers to $${m[2]}, the pattern has ${groupCount} groups`);
      parts.push(Number(m[2]));
    } else parts.push(m[3] === undefined ? '$' : 0);
  }
  parts.push(template.slice(last));
  return parts.filter((p) => p !== '');
}

function makeReplacer(parts: readonly Part[], groupCount: number, validate: MaskValidator | undefined): CompiledMaskRule['replacer'] {
  const check = validate === undefined ? undefined : VALIDATORS[validate];
  if (parts.some((p) => typeof p !== 'string')) {
    return (m: string, ...rest: unknown[]): string => {
      if (m.length === 0 || (check !== undefined && !check(m))) return m;
      fired++;
      return expand(parts, m, rest, groupCount);
    };
  }
  const literal = parts.join('');
  if (validate === 'phone') return (m: string): string => maskPhones(m, literal);
  return (m: string): string => {
    if (m.length === 0 || (check !== undefined && !check(m))) return m;
    fired++;
    return literal;
  };
}

// replace() passes (match, p1..pN, offset, input, groups?) to the callback; `rest` is everything after match.
function expand(parts: readonly Part[], m: string, rest: unknown[], groupCount: number): string {
  const named = rest[groupCount + 2] as Record<string, string | undefined> | undefined;
  let out = '';
  for (const p of parts) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += p === 0 ? m : ((rest[p - 1] as string | undefined) ?? '');
    else out += named?.[p.group] ?? '';
  }
  return out;
}

// Extra rules run right after url and email (which contain arbitrary text) and before the numeric rules,
// so a specific config id ("CUST-12345678") wins over the phone and number heuristics.
const EXTRAS_AFTER = 'email';

/**
 * Compiles the defaults plus `extra` rules. Throws an Error naming the bad rule on invalid input, and when
 * a rule's placeholder would itself be masked (masking must be idempotent).
 */
export function compileMaskRules(extra: readonly MaskRuleSpec[] = []): CompiledMaskRules {
  if (!Array.isArray(extra)) throw new Error('mask rules: extra rules must be an array');
  const specs = [...defaultMaskRules];
  const added: MaskRuleSpec[] = [];
  const seen = new Set<string>();
  for (const [i, spec] of extra.entries()) {
    const { name } = compileOne(spec, i); // validates before the name is trusted
    if (seen.has(name)) throw new Error(`mask rule #${i + 1} "${name}": duplicate name`);
    seen.add(name);
    const at = specs.findIndex((d) => d.name === name);
    if (at >= 0) specs[at] = spec;
    else added.push(spec);
  }
  specs.splice(specs.findIndex((d) => d.name === EXTRAS_AFTER) + 1, 0, ...added);
  const compiled: CompiledMaskRules = { rules: Object.freeze(specs.map(compileOne)) };
  for (const rule of compiled.rules) {
    const again = maskPii(rule.placeholder, compiled);
    if (again.text !== rule.placeholder) {
      const by = Object.keys(again.hits).join('", "');
      throw new Error(`mask rule "${rule.name}": replacement ${JSON.stringify(rule.placeholder)} is masked again by "${by}"`);
    }
  }
  return compiled;
}

const DIGIT = /[0-9]/;

// Digits in `text`, counting no further than `cap` (the largest digit gate). Most descriptions have none:
// a native search finds the first digit (or that there is none) before the counting loop starts.
function digitCount(text: string, cap: number): number {
  const first = text.search(DIGIT);
  if (first < 0) return 0;
  let n = 0;
  for (let i = first; i < text.length && n < cap; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

// Every IPv6 form has "::" or at least six colons; times ("10:30") and "ref:" have neither.
function ipv6Possible(text: string): boolean {
  if (text.includes('::')) return true;
  let colons = 0;
  for (let i = text.indexOf(':'); i >= 0 && colons < 6; i = text.indexOf(':', i + 1)) colons++;
  return colons >= 6;
}

// Every URL match starts with "http(s)://" or "www." (any case): most descriptions have neither, and one
// substring search is far cheaper than running the URL pattern over the whole text.
function urlPossible(text: string): boolean {
  if (text.includes('://')) return true;
  // A host and a path: a letter, "." and letters before a "/".
  for (let i = text.indexOf('/', 4); i >= 0; i = text.indexOf('/', i + 1)) {
    let j = i - 1;
    while (j >= 0 && ((text.charCodeAt(j) | 0x20) >= 97 && (text.charCodeAt(j) | 0x20) <= 122)) j--;
    if (i - j > 2 && j > 0 && text.charCodeAt(j) === 46) return true;
  }
  for (let i = text.indexOf('.', 3); i >= 0; i = text.indexOf('.', i + 1)) {
    // c | 0x20 folds "W" (87) onto "w" (119) and maps no other character there.
    if ((text.charCodeAt(i - 1) | 0x20) === 119 && (text.charCodeAt(i - 2) | 0x20) === 119 && (text.charCodeAt(i - 3) | 0x20) === 119) return true;
  }
  return false;
}

let defaultRules: CompiledMaskRules | undefined;
// Most descriptions hold no PII: one shared empty result instead of an object per call.
const NO_HITS: Readonly<Record<string, number>> = Object.freeze({});

/** Replaces PII in `text` with placeholders; `hits` counts replacements per rule that fired. */
export function maskPii(text: string, rules?: CompiledMaskRules): MaskResult {
  const compiled = rules ?? (defaultRules ??= compileMaskRules());
  let hits: Record<string, number> | undefined;
  let digits = -1;
  let out = text;
  const list = compiled.rules;
  // An indexed loop: iterating the frozen rule array with for-of allocated an iterator result per rule.
  for (let r = 0; r < list.length; r++) {
    const rule = list[r]!;
    // Gates look at the input: replacing can only remove what a later rule needs, never add it.
    const gate = rule.gate;
    if (typeof gate === 'number') {
      if (digits < 0) digits = digitCount(text, MAX_DIGIT_GATE);
      if (digits < gate) continue;
    } else if (gate === 'at') {
      if (!text.includes('@')) continue;
    } else if (gate === 'ipv6') {
      if (!ipv6Possible(text)) continue;
    } else if (gate === 'url' && !urlPossible(text)) continue;
    fired = 0;
    out = out.replace(rule.regex, rule.replacer);
    if (fired > 0) (hits ??= {})[rule.name] = fired; // names are unique (compileMaskRules)
  }
  return { text: out, hits: hits ?? NO_HITS };
}
