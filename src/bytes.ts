// Typed arrays as base64 text, for model snapshots: the bytes as they are in memory, so a restored array
// holds exactly the values saved (no decimal round trip) at a fraction of JSON's size and cost. Memory
// order is little-endian on every platform Node ships chDB for (x64, arm64); a big-endian host refuses.

type Typed = Int32Array | Uint32Array | Float32Array | Float64Array | Uint8Array;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('recur snapshots need a little-endian host');

export function toBase64(v: Typed): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/** A fresh, aligned ArrayBuffer with the decoded bytes (a Buffer's own may be pooled and unaligned). */
export function bytesFromBase64(s: string, elementBytes = 1): ArrayBuffer {
  const b = Buffer.from(s, 'base64');
  if (b.byteLength % elementBytes !== 0) throw new RangeError(`base64 array of ${b.byteLength} bytes is not a whole number of ${elementBytes}-byte elements`);
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

export const i32FromBase64 = (s: string): Int32Array => new Int32Array(bytesFromBase64(s, 4));
export const u32FromBase64 = (s: string): Uint32Array => new Uint32Array(bytesFromBase64(s, 4));
export const f32FromBase64 = (s: string): Float32Array => new Float32Array(bytesFromBase64(s, 4));
export const f64FromBase64 = (s: string): Float64Array => new Float64Array(bytesFromBase64(s, 8));
