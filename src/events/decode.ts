import { z } from 'zod';
import { caseEventSchema, type CaseEvent } from './schema.js';

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

const KNOWN = new Set(Object.keys(caseEventSchema.shape));
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function reject(code: RejectionCode, reason: string): Rejection {
  return { ok: false, code, reason: reason.length > 1000 ? `${reason.slice(0, 997)}...` : reason };
}

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
    return reject('invalid_json', `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return reject('not_an_object', `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  }
  const parsed = caseEventSchema.safeParse(value);
  if (!parsed.success) return reject('schema_violation', describeIssues(parsed.error));
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed.data)) if (!KNOWN.has(k)) extra[k] = v;
  return { ok: true, event: parsed.data, extra };
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
