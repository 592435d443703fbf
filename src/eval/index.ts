// Evaluation: measures clustering quality on any labelled CSV (NMI, ARI, Hungarian-matched accuracy),
// with the RFC 4180 reader it needs. Labels only ever score; they never steer clustering.
export { parseCsv, parseCsvRecords, CsvError, type CsvOptions } from './csv.js';
export { nmi, ari, hungarianAccuracy, hungarian, maxWeightMatching } from './metrics.js';
export { evalClustering, type EvalClusteringOptions, type EvalClusteringResult } from './clustering.js';
