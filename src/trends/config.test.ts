import { describe, expect, it } from 'vitest';
import { PIPELINE_DETECTOR_DEFAULTS, resolveTrendConfig } from './config.js';
import { defaultDetectorConfig } from './detector.js';

describe('resolveTrendConfig', () => {
  it("gives the pipeline's detector its own defaults, and an operator's settings win over them", () => {
    const cfg = resolveTrendConfig();
    expect(cfg.detectorResolved.levelHalfLifeHours).toBe(PIPELINE_DETECTOR_DEFAULTS.levelHalfLifeHours);
    expect(cfg.detectorResolved.dispersionHalfLifeHours).toBe(PIPELINE_DETECTOR_DEFAULTS.dispersionHalfLifeHours);
    // `recur detect` on an arbitrary series keeps the detector's generic defaults.
    expect(defaultDetectorConfig.levelHalfLifeHours).not.toBe(PIPELINE_DETECTOR_DEFAULTS.levelHalfLifeHours);
    const mine = resolveTrendConfig({ detector: { levelHalfLifeHours: 12 }, bucket: { minutes: 15 } });
    expect(mine.detectorResolved.levelHalfLifeHours).toBe(12);
    expect(mine.detectorResolved.dispersionHalfLifeHours).toBe(PIPELINE_DETECTOR_DEFAULTS.dispersionHalfLifeHours);
    expect(mine.detectorResolved.bucketMinutes).toBe(15);
  });

  it('refuses an unknown time zone with a message naming the setting', () => {
    expect(() => resolveTrendConfig({ timeZone: 'Mars/Olympus' })).toThrow(/timeZone must be an IANA time zone/);
  });
});
