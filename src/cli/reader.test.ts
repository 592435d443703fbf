import { describe, expect, it } from 'vitest';
import { apiBase } from './reader.js';

describe('apiBase', () => {
  it('reaches a wildcard listen address on loopback and puts an IPv6 address in brackets', () => {
    expect(apiBase('0.0.0.0', 8470)).toBe('http://127.0.0.1:8470/api');
    expect(apiBase('::', 8470)).toBe('http://127.0.0.1:8470/api');
    expect(apiBase('::1', 8470)).toBe('http://[::1]:8470/api');
    expect(apiBase('recur.internal', 80)).toBe('http://recur.internal:80/api');
    // recur status built http://::1:8470/api by hand for a server store: not a URL, so "not running".
    expect(() => new URL(`${apiBase('::1', 8470)}/status`)).not.toThrow();
  });
});
