// trends/ owns bucketing, seasonal baselines, the count-series detector, alert episodes and scores.
// Pure code: no I/O, no logging, and time is always a parameter (never Date.now()).
export { bucketStart, nextBucketStart, seasonalKey, tzOffsetMs, nominalBucketMs, type BucketSpec, type SeasonalKey } from './bucket.js';
export {
  createDetectorState,
  stepDetector,
  expectation,
  seasonalBaseline,
  detectorConfigSchema,
  defaultDetectorConfig,
  type DetectorConfig,
  type DetectorState,
  type DetectorStep,
} from './detector.js';
export { scoreSeries, parseTimestamp, type SeriesRow, type ScoreSeriesOptions } from './score-series.js';
export { negBinUpperTail, poissonUpperTail } from './stats.js';
export { trendConfigSchema, resolveTrendConfig, type TrendConfig, type TrendConfigInput, type ResolvedTrendConfig } from './config.js';
export {
  createClusterState,
  evaluateCluster,
  type ClusterBucketInput,
  type ClusterMeta,
  CLUSTER_STATUSES,
  isFixedStatus,
  type ClusterStatus,
  type ClusterTrendState,
} from './alerts.js';
export { evaluateBucketClose, type BucketCloseInput } from './engine.js';
export { ANONYMOUS_CUSTOMER, gateCustomer } from './customers.js';
export { episodeId, laterThan, ALERT_KINDS, type AlertKind, type Episode, type TrendEvent } from './episodes.js';
export { scoreCorpus, STANDARD_PROFILE, type NabFile, type CorpusResult, type CostMatrix } from './nab-scorer.js';
