import { isUtf8 } from 'node:buffer';
import { MAX_EXTRA_DEPTH, type CaseEvent, type Rejection } from '../events/index.js';
import { chTime, chTimeOf } from '../store/writer.js';
import { ExpansionError } from '../text/normalize.js';

/** What the masker must provide (src/text/mask.ts). */
export type Masker = (text: string) => { text: string; hits: Record<string, number> };

export const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

export function maskCount(hits: Record<string, number>): number {
  let n = 0;
  // for-in, not Object.values: no array per call (three calls per event). Own keys only, as Object.values.
  for (const k in hits) if (Object.hasOwn(hits, k)) n += hits[k]!;
  return n;
}

// What masking the empty string gives: no rule can match it (compileMaskRules refuses patterns that match
// the empty string), so an absent subject or an event without extra fields skips the masker.
const MASKED_EMPTY: ReturnType<Masker> = Object.freeze({ text: '', hits: Object.freeze({}) });

/** Whether `o` has an own enumerable key (Object.keys(o).length > 0 without the array). */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

export interface Located {
  topic: string;
  partition: number;
  offset: bigint;
}

/** `ingestedAt`: chTime of the ingestion time, printed once per chunk by the caller. */
export function caseEventRow(ev: CaseEvent, extra: Record<string, unknown>, at: Located, mask: Masker, ingestedAt: string) {
  const description = mask(ev.description);
  const subject = ev.subject === undefined ? MASKED_EMPTY : mask(ev.subject);
  const extraText = hasKeys(extra) ? maskJsonText(extra, mask) : MASKED_EMPTY;
  return {
    maskedDescription: description.text,
    row: {
      event_id: ev.event_id,
      case_id: ev.case_id,
      customer_id: ev.customer_id ?? '',
      channel: ev.channel,
      event_type: ev.type ?? 'message',
      occurred_at: chTimeOf(ev.occurred_at),
      description: description.text,
      subject: subject.text,
      product: ev.product ?? '',
      category: ev.category ?? '',
      tags: ev.tags === undefined ? [] : ev.tags.map((t) => mask(t).text),
      language: ev.language ?? '',
      csat: ev.csat ?? null,
      nps: ev.nps ?? null,
      effort: ev.effort ?? null,
      handle_seconds: ev.handle_seconds ?? null,
      cost: ev.cost ?? null,
      extra: extraText.text,
      pii_masked: Math.min(65535, maskCount(description.hits) + maskCount(subject.hits) + maskCount(extraText.hits)),
      source_topic: at.topic,
      source_partition: at.partition,
      source_offset: at.offset.toString(),
      ingested_at: ingestedAt,
    },
  };
}

/**
 * JSON with every string value masked (and every number, read as text: a phone number sent as a number), then
 * written out. Masking the JSON text itself missed PII after an escape (`"Call back:\n555-123-4567"`: the
 * `n` of `\n` reads as a word character before it) and could leave invalid JSON behind.
 */
export function maskJsonText(value: unknown, mask: Masker): { text: string; hits: Record<string, number> } {
  const hits: Record<string, number> = {};
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string' || typeof v === 'number') {
      const m = mask(String(v));
      for (const [k, n] of Object.entries(m.hits)) hits[k] = (hits[k] ?? 0) + n;
      return typeof v === 'number' && m.text === String(v) ? v : m.text;
    }
    if (v === null || typeof v !== 'object') return v;
    // decodeEventText refuses deeper extra fields; a dead letter's JSON may nest deeper (deadLetterRow).
    if (depth > MAX_EXTRA_DEPTH) throw new TooDeepError();
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    // No prototype: a key "__proto__" is kept as a key, not taken for the object's prototype.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    // Keys too: {"jane.doe@example.com": "vip"}; two keys masked alike are numbered, not merged. The next
    // number per masked key is kept, so n keys masked alike cost n steps, not n² (a message of 20,000
    // phone-number keys took 29 s, past the consumer's session timeout).
    const next = new Map<string, number>();
    for (const [k, x] of Object.entries(v)) {
      const base = walk(k, depth) as string;
      let key = base;
      if (Object.hasOwn(out, key)) {
        let i = next.get(base) ?? 2;
        while (Object.hasOwn(out, `${base}#${i}`)) i++;
        key = `${base}#${i}`;
        next.set(base, i + 1);
      }
      out[key] = walk(x, depth + 1);
    }
    return out;
  };
  return { text: JSON.stringify(walk(value, 0)), hits };
}

class TooDeepError extends Error {}

/** JSON escapes maskEscaped reads as their characters (\t, \n and \r written as escapes again after masking). */
const SPELLED: Record<string, string> = { '\\/': '/', '\\t': '\t', '\\n': '\n', '\\r': '\r' };
const RESPELLED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * Text that may hold JSON escapes: each stretch between two escapes is masked on its own, the escapes kept.
 * A \uXXXX escape of a character that is no control, quote or backslash is written as that character first:
 * Python's json.dumps escapes every non-ASCII letter, and `j\u00fcrgen@m\u00fcller.de` split into stretches
 * was no address to the masker.
 */
function maskEscaped(text: string, mask: Masker): string {
  return text
    .replace(/\\(?:u([0-9a-fA-F]{4})|[^u])/g, (esc, hex: string | undefined) => {
      // \/ (PHP writes every / so) and whitespace escapes are the characters: a URL written https:\/\/… with its
      // token, or a card or IBAN whose groups \t or \n separate, split at them was no item to the masker.
      if (hex === undefined) return SPELLED[esc] ?? esc; // \\ then u00fc: a backslash, then text
      const c = parseInt(hex, 16);
      return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x22 || c === 0x5c || (c >= 0x7f && c < 0xa0) ? esc : String.fromCharCode(c);
    })
    .split(/(\\(?:u[0-9a-fA-F]{4}|[^u]))/)
    .map((part, i) => (i % 2 === 1 ? part : mask(part).text.replace(/[\t\n\r]/g, (c) => RESPELLED[c]!)))
    .join('');
}

/**
 * A rejected payload's text for its dead letter. UTF-16 when a byte-order mark or NULs in every other byte say
 * so (ASCII in UTF-16 without a mark is valid UTF-8, NULs and all); otherwise UTF-8, each byte that is not part
 * of a valid UTF-8 sequence read as Latin-1. Read as plain UTF-8, UTF-16's NULs split every character apart and
 * Latin-1's letters became replacement characters inside addresses: the masker saw no phone number or address.
 * Read all as Latin-1, a UTF-8 payload with one stray byte garbled every accented letter instead.
 */
function payloadText(b: Buffer): string {
  const even = b.length & ~1;
  if (b[0] === 0xff && b[1] === 0xfe) return b.toString('utf16le', 2, even);
  if (b[0] === 0xfe && b[1] === 0xff) return Buffer.from(b.subarray(2, even)).swap16().toString('utf16le');
  let nulEven = 0;
  let nulOdd = 0;
  const n = Math.min(even, 4096);
  for (let i = 0; i < n; i++) if (b[i] === 0) i % 2 === 0 ? nulEven++ : nulOdd++;
  if (nulOdd > n / 8 && nulEven < n / 64) return b.toString('utf16le', 0, even);
  if (nulEven > n / 8 && nulOdd < n / 64) return Buffer.from(b.subarray(0, even)).swap16().toString('utf16le');
  return isUtf8(b) ? b.toString('utf8') : utf8OrLatin1(b);
}

/** UTF-8, with each byte outside a valid sequence (overlong, surrogate and out-of-range forms included) as Latin-1. */
function utf8OrLatin1(b: Buffer): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= b.length && isUtf8(b.subarray(i, i + len))) {
      i += len;
      continue;
    }
    out += b.toString('utf8', from, i) + String.fromCharCode(c);
    i += 1;
    from = i;
  }
  return out + b.toString('utf8', from, b.length);
}

/**
 * Dead letters keep a masked, bounded copy of what arrived: PII is masked even in rejected input. JSON
 * (a schema violation) is masked value by value; anything else stretch by stretch between JSON escapes.
 * Masked before it is cut to MAX_DEAD_LETTER_PAYLOAD, so no value is cut in half first.
 */
export function deadLetterRow(rej: Rejection, value: Buffer | null, at: Located, mask: Masker, nowMs: number) {
  const bytes = value ?? Buffer.alloc(0);
  // Masked from twice what is kept: what a cut at that point could leave half-masked is cut off afterwards,
  // and an oversize message (up to the broker's limit) is not masked whole on the ingest path.
  const whole = bytes.length <= 2 * MAX_DEAD_LETTER_PAYLOAD;
  const text = payloadText(whole ? bytes : bytes.subarray(0, 2 * MAX_DEAD_LETTER_PAYLOAD));
  let parsed: unknown;
  try {
    parsed = whole && (rej.code === 'schema_violation' || rej.code === 'not_an_object') ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  let masked: string;
  try {
    try {
      masked = parsed === undefined ? maskEscaped(text, mask) : maskJsonText(parsed, mask).text;
    } catch (err) {
      if (!(err instanceof TooDeepError)) throw err;
      masked = maskEscaped(text, mask);
    }
  } catch (err) {
    // Text that grows past bounds under normalisation cannot be masked within them: its copy is withheld (the
    // reason, the size and where it came from are kept).
    if (!(err instanceof ExpansionError)) throw err;
    masked = '';
  }
  // Cut inside an item (half an e-mail address is no e-mail to the masker): what follows the head's last
  // 256 characters is dropped, as no item the masker knows is longer, before the final cut.
  if (!whole) masked = masked.slice(0, Math.max(0, masked.length - 256));
  return {
    source_topic: at.topic,
    source_partition: at.partition,
    source_offset: at.offset.toString(),
    reason_code: rej.code,
    reason: storedReason(maskedReason(rej, mask)),
    payload: Buffer.from(masked).subarray(0, MAX_DEAD_LETTER_PAYLOAD).toString('utf8'),
    payload_bytes: bytes.length,
    received_at: chTime(nowMs),
  };
}

/** A masked reason as dead_letters keeps it: at most 1,000 characters. */
function storedReason(masked: string): string {
  return masked.length > 1000 ? `${masked.slice(0, 997)}...` : masked;
}

/** A rejection's reason, masked; withheld when it quotes text that grows past bounds under normalisation. */
function maskedReason(rej: Rejection, mask: Masker): string {
  try {
    return mask(rej.reason).text;
  } catch (err) {
    if (!(err instanceof ExpansionError)) throw err;
    return `${rej.code}: the reason quotes text that grows past bounds under Unicode normalisation (withheld)`;
  }
}
