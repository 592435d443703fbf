import { describe, expect, it } from 'vitest';
import { chdbAllocatorConf, serverCredentials } from './client.js';

describe('chdbAllocatorConf', () => {
  it("sets chDB's jemalloc decay when the environment sets nothing", () => {
    expect(chdbAllocatorConf(1000, undefined)).toBe('dirty_decay_ms:1000');
    expect(chdbAllocatorConf(0, '')).toBe('dirty_decay_ms:0');
  });

  it("puts the operator's own JE_MALLOC_CONF after recur's, so theirs wins", () => {
    expect(chdbAllocatorConf(1000, 'dirty_decay_ms:5000,narenas:1')).toBe('dirty_decay_ms:1000,dirty_decay_ms:5000,narenas:1');
  });
});

describe('serverCredentials', () => {
  it('uses the credentials a ClickHouse URL carries, a password configured apart over the URL one', () => {
    expect(serverCredentials(new URL('https://analyst:p%40ss@ch.example:8443'), 'default', undefined)).toEqual({ username: 'analyst', password: 'p@ss' });
    expect(serverCredentials(new URL('https://analyst:url-pw@ch.example:8443'), 'default', 'file-pw')).toEqual({ username: 'analyst', password: 'file-pw' });
    expect(serverCredentials(new URL('http://ch.example:8123'), 'recur', 'pw')).toEqual({ username: 'recur', password: 'pw' });
    expect(serverCredentials(new URL('http://ch.example:8123'), 'default', undefined)).toEqual({ username: 'default', password: '' });
  });
});
