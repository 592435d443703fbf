// ClickHouse through @clickhouse/client only (chDB in-process or a server): connection, versioned
// migrations, idempotent writers with deduplication tokens, and the read queries of the CLI.
export { openStore, type Store } from './client.js';
export { migrate, MIGRATIONS_DIR, type MigrationResult } from './migrate.js';
export { insertIdempotent, chTime, knownFileInputs, recordFileInput, rangeToken, type OffsetRange } from './writer.js';
export { MAX_LIST_LIMIT, topClusters, clusterDetail, ingestSummary, type ClusterSummary } from './queries.js';
export { saveSnapshot, loadLatestSnapshot, pipelinesSharingIds, type ModelSnapshot } from './snapshots.js';
export { bucketCounts, hourlyBucketCounts, bucketMembers, casesPerHourBefore, eventTimeRange, loadTrendProgress, saveTrendProgress, clusterStatuses, setClusterStatus, alertRow, writeAlerts, listEpisodes, episodeExtent, openEpisodes, storedEpisodeIds, type BucketCounts, type ClusterStatusRow, type EpisodeRow } from './trends.js';
export { affectedCustomers, pinOwner, ownerPins, ownerPinRows, clusterExists, clusterState, markClusterStatus, pinClusterOwner, statusProblem, noteProblem, teamProblem, type AffectedRow } from './customers.js';
export { chargeBack, clusterCosts, clusterExamples, ownerTotals, windowKey, windowTotals, type ClusterCostRow, type EpisodeWindow, type OwnerTotal, type WindowTotals } from './cost.js';
export { goneClusterRows, goneClusters, goneDecisions, type GoneCluster } from './gone.js';
export { clusterSpans, loadRange, maxModelVersion, rewriteRange, recordRerun, type RangeEvent } from './rerun.js';
export { birthsFrom, bornPrefix, maxBirthSeq, recordBirths, type Birth } from './births.js';
export { recordDeliveries, registerSinks, undeliveredEpisodes, type DeliveryRecord, type Undelivered } from './deliveries.js';
