import { z } from 'zod';
import { CHANNELS, EVENT_TYPES, LIMITS, RANGES, caseEventSchema, eventTimeInRange, type CaseEvent } from './schema.js';

export type RejectionCode = 'empty' | 'oversize' | 'invalid_utf8' | 'invalid_json' | 'not_an_object' | 'schema_violation';

export interface Rejection {
  ok: false;
  code: RejectionCode;
  reason: string;
}

export interface Decoded {
  ok: true;
  event: CaseEvent;
  /** Fields outside the contract, kept for raw storage. */
  extra: Record<string, unknown>;
}

export type DecodeResult = Decoded | Rejection;

const SHAPE_KEYS = Object.keys(caseEventSchema.shape);
const KNOWN = new Set(SHAPE_KEYS);
const ID_KEYS = new Set(['event_id', 'case_id', 'customer_id']);
const CHANNEL_SET: ReadonlySet<unknown> = new Set(CHANNELS);
const TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);
/**
 * The contract's own ISO-8601 pattern, taken from the schema so the two cannot drift apart. It is
 * zod's internal field: should a zod upgrade move it, every event simply goes through zod (a test
 * notices).
 */
const occurredAtDef = (caseEventSchema.shape.occurred_at as unknown as { _zod?: { def?: { pattern?: unknown } } })._zod?.def;
export const DATETIME_PATTERN: RegExp | undefined = occurredAtDef?.pattern instanceof RegExp ? occurredAtDef.pattern : undefined;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function reject(code: RejectionCode, reason: string): Rejection {
  // Bounded, not cut to its stored length: it may quote the message (a field's key), and a cut inside an item
  // (jane.doe@example.… with no domain left) hid it from the masker. The dead letter masks it, then cuts it.
  return { ok: false, code, reason: reason.length > MAX_REASON_CHARS ? reason.slice(0, MAX_REASON_CHARS) : reason };
}

/** What a rejection's reason may hold before it is masked and cut to its stored 1,000 characters. */
const MAX_REASON_CHARS = 16_000;

/** Bytes → text: separate from interpreting them (a byte problem is not a schema problem). */
export function decodeBytes(bytes: Uint8Array | null | undefined, maxBytes: number): { ok: true; text: string } | Rejection {
  if (!bytes || bytes.length === 0) return reject('empty', 'message has no value');
  if (bytes.length > maxBytes) return reject('oversize', `message is ${bytes.length} bytes, limit is ${maxBytes}`);
  try {
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    return reject('invalid_utf8', 'message is not valid UTF-8');
  }
}

/** Text → validated event. Never throws on bad input. */
export function decodeEventText(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // V8 quotes ~10 characters of the input around an unexpected token: input, so perhaps half an e-mail
    // address, which the masker cannot recognise (dead_letters.reason kept it). The quote is left out.
    const why = (err instanceof Error ? err.message : String(err)).replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
    return reject('invalid_json', `invalid JSON: ${why}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject('not_an_object', `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  // JSON.parse just made `value` and nothing else holds it: the fast path may return it as the event.
  const fast = fastParse(value as Record<string, unknown>, true);
  if (fast) return tooDeep(fast.extra) ?? fast;
  const parsed = caseEventSchema.safeParse(value);
  if (!parsed.success) return reject('schema_violation', describeIssues(parsed.error));
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed.data)) if (!KNOWN.has(k)) extra[k] = v;
  keepProtoKey(value, extra);
  return tooDeep(extra) ?? { ok: true, event: parsed.data, extra };
}

/**
 * zod copies unknown keys by assignment, and "__proto__" assigned sets the prototype instead: a top-level extra
 * field of that name was dropped (nested ones are kept). It is put back as an own key (never as a prototype).
 */
function keepProtoKey(raw: object, extra: Record<string, unknown>): void {
  const own = Object.getOwnPropertyDescriptor(raw, '__proto__');
  if (own) Object.defineProperty(extra, '__proto__', { value: own.value, enumerable: true, writable: true, configurable: true });
}

/** Levels of arrays and objects an extra field may nest: its masking walks them (and 5,000 overflowed the stack). */
export const MAX_EXTRA_DEPTH = 64;

/** A rejection when an extra field nests deeper than MAX_EXTRA_DEPTH; found without recursion. */
function tooDeep(extra: Record<string, unknown>): Rejection | undefined {
  for (const k in extra) {
    const v = extra[k];
    if (v === null || typeof v !== 'object') continue;
    const stack: [unknown, number][] = [[v, 1]];
    while (stack.length > 0) {
      const [x, d] = stack.pop()!;
      if (d > MAX_EXTRA_DEPTH) return reject('schema_violation', `${k}: nested deeper than ${MAX_EXTRA_DEPTH} levels`);
      for (const y of Array.isArray(x) ? x : Object.values(x as object)) if (y !== null && typeof y === 'object') stack.push([y, d + 1]);
    }
  }
  return undefined;
}

function idOk(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const n = v.trim().length;
  return n >= 1 && n <= LIMITS.idChars;
}

function textOk(v: unknown, min: number, max: number): boolean {
  return typeof v === 'string' && v.length >= min && v.length <= max;
}

/** Absent, or a finite number within the contract's range for `k` (a whole number for nps). */
function numberOk(v: unknown, k: keyof typeof RANGES): boolean {
  if (v === undefined) return true;
  const [min, max] = RANGES[k];
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (k !== 'nps' || Number.isInteger(v));
}

/**
 * The schema's checks written out for the common case, as strict as the schema or stricter, and
 * its output built the same way (known fields in contract order, ids trimmed, then the others in
 * input order). Anything it is unsure of returns undefined and goes to zod, which decides and
 * explains: zod costs about a third of decoding, and nearly every event is valid. With `owned` (the
 * caller gives `v` away), an event that already is its own output (see asIs) is returned as it is.
 */
export function fastParse(v: Record<string, unknown>, owned = false): Decoded | undefined {
  if (!idOk(v.event_id) || !idOk(v.case_id) || (v.customer_id !== undefined && !idOk(v.customer_id))) return undefined;
  if (!CHANNEL_SET.has(v.channel)) return undefined;
  if (DATETIME_PATTERN === undefined || typeof v.occurred_at !== 'string' || !DATETIME_PATTERN.test(v.occurred_at) || !eventTimeInRange(v.occurred_at)) return undefined;
  if (!textOk(v.description, 1, LIMITS.descriptionChars)) return undefined;
  if (v.subject !== undefined && !textOk(v.subject, 0, LIMITS.subjectChars)) return undefined;
  if (v.product !== undefined && !textOk(v.product, 0, LIMITS.shortFieldChars)) return undefined;
  if (v.category !== undefined && !textOk(v.category, 0, LIMITS.shortFieldChars)) return undefined;
  if (v.language !== undefined && !textOk(v.language, 0, LIMITS.languageChars)) return undefined;
  if (v.type !== undefined && !TYPE_SET.has(v.type)) return undefined;
  if (v.tags !== undefined) {
    if (!Array.isArray(v.tags) || v.tags.length > LIMITS.tags) return undefined;
    for (const t of v.tags) if (!textOk(t, 0, LIMITS.shortFieldChars)) return undefined;
  }
  if (!numberOk(v.csat, 'csat') || !numberOk(v.nps, 'nps') || !numberOk(v.effort, 'effort')) return undefined;
  if (!numberOk(v.handle_seconds, 'handle_seconds') || !numberOk(v.cost, 'cost')) return undefined;
  if (owned && asIs(v)) return { ok: true, event: v as unknown as CaseEvent, extra: {} };
  const out: Record<string, unknown> = {};
  for (const k of SHAPE_KEYS) {
    const x = v[k];
    if (x === undefined) continue;
    out[k] = ID_KEYS.has(k) ? (x as string).trim() : k === 'tags' ? [...(x as string[])] : x;
  }
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    if (KNOWN.has(k)) continue;
    // An own "__proto__" would set the prototype if assigned: zod's path handles it.
    if (k === '__proto__') return undefined;
    out[k] = v[k];
    extra[k] = v[k];
  }
  return { ok: true, event: out as CaseEvent, extra };
}

/**
 * Whether fastParse would build a copy of `v` equal to it: only contract fields, in contract order, none
 * undefined, ids with nothing to trim. Producers that send the contract's order skip a copy per event.
 */
function asIs(v: Record<string, unknown>): boolean {
  let s = 0;
  for (const k in v) {
    // for-in visits own keys first, in order; an inherited enumerable key (none on a JSON object) fails below.
    while (s < SHAPE_KEYS.length && SHAPE_KEYS[s] !== k) s++;
    if (s === SHAPE_KEYS.length || !Object.hasOwn(v, k)) return false;
    const x = v[k];
    if (x === undefined || (ID_KEYS.has(k) && (x as string).trim() !== x)) return false;
    s++;
  }
  return true;
}

export function decodeEvent(bytes: Uint8Array | null | undefined, maxBytes: number): DecodeResult {
  const b = decodeBytes(bytes, maxBytes);
  return b.ok ? decodeEventText(b.text) : b;
}

/** "description: Too big: expected string to have <=16000 characters; channel: Invalid option ..." */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}
