// Clustering: online assignment with bounded memory and stable ids, cluster labels, batch re-fit with
// identity matching and lineage, and model snapshots (serialised here; stored by the caller).
export {
  OnlineClusterer, DEFAULT_ONLINE_OPTIONS,
  type OnlineOptions, type ResolvedOnlineOptions, type ClusterEvent, type Assignment, type ChangeType, type LineageEvent, type RerunDecision,
} from './online.js';
export { SNAPSHOT_VERSION } from './snapshot.js';
export type { ClusterSummary } from './labels.js';
export { clusterBatch, refitBatch, sparseCentroids, type BatchOptions, type BatchResult, type RefitOptions, type RefitResult } from './batch.js';
export { matchClusters, type ExistingCluster, type LineageRecord, type LineageKind, type MatchOptions, type MatchResult } from './identity.js';
export { sphericalKMeans, type KMeansOptions, type KMeansResult } from './kmeans.js';
export { lsa, type LsaOptions, type LsaResult } from './lsa.js';
export { hungarian, maxWeightMatching } from './hungarian.js';
export { planRerun, type RerunDoc, type RerunPlan, type RerunOptions } from './rerun.js';
