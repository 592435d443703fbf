import { describe, expect, it } from 'vitest';
import { chdbAllocatorConf } from './client.js';

describe('chdbAllocatorConf', () => {
  it("sets chDB's jemalloc decay when the environment sets nothing", () => {
    expect(chdbAllocatorConf(1000, undefined)).toBe('dirty_decay_ms:1000');
    expect(chdbAllocatorConf(0, '')).toBe('dirty_decay_ms:0');
  });

  it("puts the operator's own JE_MALLOC_CONF after recur's, so theirs wins", () => {
    expect(chdbAllocatorConf(1000, 'dirty_decay_ms:5000,narenas:1')).toBe('dirty_decay_ms:1000,dirty_decay_ms:5000,narenas:1');
  });
});
