import { describe, expect, it } from 'vitest';
import { committedOffset, startOf } from './start.js';

describe('startOf', () => {
  const marks = { logStart: 6n, logEnd: 10n, committed: 8n };

  it('replays from the checkpoint when it is still in the log', () => {
    expect(startOf(6n, marks)).toEqual({ seek: 6n, from: 'checkpoint' });
    expect(startOf(7n, marks)).toEqual({ seek: 7n, from: 'checkpoint' });
  });

  it('raises a checkpoint below the log start to it, counting the offsets gone', () => {
    expect(startOf(2n, marks)).toEqual({ seek: 6n, from: 'log_start', below: 'checkpoint', gone: 4n });
    expect(startOf(0n, { logStart: 6n, logEnd: 10n, committed: null })).toEqual({ seek: 6n, from: 'log_start', below: 'checkpoint', gone: 6n });
  });

  it('without a checkpoint, raises a committed offset below the log start to it', () => {
    expect(startOf(null, { logStart: 6n, logEnd: 10n, committed: 2n })).toEqual({ seek: 6n, from: 'log_start', below: 'committed', gone: 4n });
  });

  it('leaves a committed offset still in the log, or none, to kafkajs', () => {
    expect(startOf(null, marks)).toEqual({ seek: null });
    expect(startOf(null, { logStart: 6n, logEnd: 10n, committed: 6n })).toEqual({ seek: null });
    expect(startOf(null, { logStart: 6n, logEnd: 10n, committed: null })).toEqual({ seek: null });
  });

  it('with kafka.fromBeginning false, a partition without a committed offset or a checkpoint starts at the end of the log', () => {
    expect(startOf(null, { logStart: 6n, logEnd: 10n, committed: null }, false)).toEqual({ seek: 10n, from: 'log_end' });
    expect(startOf(null, { logStart: 6n, logEnd: 10n, committed: 8n }, false)).toEqual({ seek: null });
    expect(startOf(7n, { logStart: 6n, logEnd: 10n, committed: null }, false)).toEqual({ seek: 7n, from: 'checkpoint' });
  });

  it('without marks (they could not be read), seeks the checkpoint as before', () => {
    expect(startOf(2n, null)).toEqual({ seek: 2n, from: 'checkpoint' });
    expect(startOf(null, null)).toEqual({ seek: null });
  });
});

describe('committedOffset', () => {
  it('reads -1 as no offset, and -2 (kafkajs\' commit of its reset to the earliest offset) as the log start', () => {
    expect(committedOffset('-1', 6n)).toBeNull();
    expect(committedOffset(undefined, 6n)).toBeNull();
    expect(committedOffset('-2', 6n)).toBe(6n);
    expect(committedOffset('0', 6n)).toBe(0n);
    expect(committedOffset('9007199254740993', 6n)).toBe(9007199254740993n);
  });
});
