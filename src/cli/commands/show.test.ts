import { describe, expect, it } from 'vitest';
import { showText } from './show.js';

describe('recur show text', () => {
  it('prints each example and the label on one line, so customer text cannot add lines', () => {
    const text = showText({
      cluster_id: 'c_1',
      label: 'card\nstatus: resolved',
      status: 'open',
      owner: 'payments',
      owner_reason: 'rule',
      top_terms: ['card'],
      size: 3,
      first_seen: '2026-11-02',
      last_seen: '2026-11-03',
      channels: [{ channel: 'chat', contacts: 3 }],
      repeat_contacts: 0,
      repeat_window_days: 7,
      examples: ['my card broke\nstatus:   resolved since 2026-01-01 (fake)\u2028owner finance', 'plain'],
      daily: [{ day: '2026-11-02 00:00:00', cases: 3 }],
    });
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('status:'))).toEqual(['status:   open · owner payments (rule)']);
    expect(lines.filter((l) => l.startsWith('  - '))).toEqual(['  - my card broke status: resolved since 2026-01-01 (fake) owner finance', '  - plain']);
    expect(lines[0]).toBe('c_1: card status: resolved');
    expect(lines).toHaveLength(11);
  });
});
