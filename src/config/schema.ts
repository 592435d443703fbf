import { z } from 'zod';
import { trendConfigSchema } from '../trends/config.js';
import { ownersConfigSchema } from '../owners/rules.js';

const positiveInt = z.number().int().positive();
/** Node's longest timer: a longer one fires after 1 ms (a TimeoutOverflowWarning on stderr the only sign). */
const MAX_TIMER_MS = 2_147_483_647;
/** Milliseconds a timer waits. */
const timerMs = positiveInt.max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest timer Node keeps`);

/** A URL, or null when it does not parse (z.url() reports that, once). */
function parsedUrl(v: string): URL | null {
  try {
    return new URL(v);
  } catch {
    return null;
  }
}

/** Whether a URL's credentials (user:password@) decode: a "%" not followed by two hex digits does not. */
function credentialsDecode(v: string): boolean {
  const u = parsedUrl(v);
  if (!u) return true;
  try {
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    return true;
  } catch {
    return false;
  }
}

/** Whether a URL is only a scheme, credentials, host and port. */
function noPathOrQuery(v: string): boolean {
  const u = parsedUrl(v);
  return !u || ((u.pathname === '/' || u.pathname === '') && u.search === '' && u.hash === '');
}

/** The cluster pipeline of a configuration that names none: its cluster ids carry no pipeline name (clusterIdPrefix). */
export const DEFAULT_PIPELINE = 'default';

export const maskRuleSchema = z.object({
  name: z.string().min(1),
  pattern: z.string().min(1),
  flags: z.string().optional(),
  replacement: z.string().optional(),
  validate: z.enum(['luhn', 'iban', 'phone']).optional(),
});

export const configSchema = z.object({
  kafka: z
    .object({
      brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
      clientId: z.string().default('recur'),
      groupId: z.string().min(1).default('recur'),
      topic: z.string().min(1).default('case-events'),
      deadLetterTopic: z.string().min(1).default('recur.dead-letter'),
      alertsTopic: z.string().min(1).default('recur.alerts'),
      fromBeginning: z.boolean().default(true),
      sessionTimeoutMs: timerMs.default(30_000),
      /**
       * Partitions a consumer handles at once. Each partition's batches stay in order; while one
       * partition's rows are being written, another's are decoded and clustered.
       */
      partitionsConcurrently: positiveInt.max(64).default(1),
      /**
       * Fetch size per partition (and twice that per fetch). A fetched batch is processed in chunks of
       * `ingest.maxBatchRows`, each built while the previous one is written; with a backlog behind it, a
       * batch's last write runs on while the next batch is built. 8 MB holds about one 20,000-row chunk
       * of typical events: 4 MB made smaller writes, 16 MB cost ~100 MB more RSS for little more speed.
       */
      fetchMaxBytesPerPartition: positiveInt.default(8 * 1024 * 1024),
      ssl: z
        .object({
          enabled: z.boolean().default(false),
          caFile: z.string().optional(),
          certFile: z.string().optional(),
          keyFile: z.string().optional(),
        })
        .prefault({}),
      sasl: z
        .object({
          mechanism: z.enum(['scram-sha-256', 'scram-sha-512']),
          username: z.string().min(1),
          password: z.string().optional(),
          passwordFile: z.string().optional(),
        })
        .optional(),
    })
    .prefault({}),
  clickhouse: z
    .object({
      /** Unset: embedded chDB in `dataDir`. Set: a ClickHouse server over HTTP(S). */
      url: z
        .url()
        .refine(credentialsDecode, 'its user:password@ must be percent-encoded (a "%" written as %25, "/" as %2F, "@" as %40)')
        // Only the scheme, host and credentials are used: a path or query would be dropped without a word (ClickHouse's
        // own clients read http://host/analytics as the database).
        .refine(noPathOrQuery, 'takes no path, query or fragment (the database is clickhouse.database)')
        .optional(),
      username: z.string().default('default'),
      password: z.string().optional(),
      passwordFile: z.string().optional(),
      database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain identifier').default('default'),
      dataDir: z.string().default('./.recur/data'),
      /** Insert deduplication window in blocks: must outlast the longest replay (see README). */
      dedupWindow: positiveInt.default(10_000),
      /**
       * Embedded chDB only: how long (ms) its allocator keeps freed memory before handing it back to the
       * system (jemalloc's dirty_decay_ms; chDB builds in 5,000). At 250 a worker's peak RSS with ~8,000
       * live clusters was ~95 MB lower (medians of 14 runs each) for about 6% more CPU at the median, inside the
       * spread of identical runs; at 0, 105-150 MB lower for ~20% more CPU (README, "Measured figures"). Read
       * when chDB loads, so once per process; a `JE_MALLOC_CONF` in the environment is applied after it and wins.
       */
      memoryReturnMs: z.number().int().nonnegative().default(250),
    })
    .prefault({}),
  ingest: z
    .object({
      maxMessageBytes: positiveInt.default(1_048_576),
      /**
       * Rows per write (a chunk). ClickHouse spends less per row on fewer, larger inserts (fewer parts to
       * merge): at 20,000 a worker used 0.069 CPU s per 1,000 events against 0.079-0.085 at 5,000.
       */
      maxBatchRows: positiveInt.default(20_000),
      /** How long `recur run` waits for more input before flushing a partial batch (file/stdin). */
      flushMs: timerMs.default(500),
      /** Model checkpoint cadence: after this many written chunks (of maxBatchRows)… */
      snapshotEveryBatches: positiveInt.default(20),
      /** …and at most once per this many milliseconds (a replay after a crash relearns what came after). */
      snapshotMinIntervalMs: z.number().int().nonnegative().max(MAX_TIMER_MS).default(30_000),
      /**
       * With events the checkpoint does not hold, one is written after this many milliseconds however few chunks
       * came (a slow or quiet stream): the most a kill loses of a stdin run's model (its input is not read
       * again), and how long the stored clusters go without labels, terms and owners.
       */
      snapshotMaxIntervalMs: timerMs.default(60_000),
    })
    .prefault({}),
  mask: z.object({ extraRules: z.array(maskRuleSchema).default([]) }).prefault({}),
  cluster: z
    .object({
      /** At least 2: the model makes room for a new problem by merging or retiring one of the others. */
      maxClusters: positiveInt.min(2, 'at least 2 (a new problem makes room by merging or retiring another)').default(2_000),
      maxVocabulary: positiveInt.default(100_000),
      /** Sentence-embedding model for evaluation and batch re-fits ('none': lexical only). */
      embedder: z.enum(['none', 'bge-small', 'minilm']).default('none'),
      /** Where scripts/fetch-model.sh put the models (default ~/.cache/recur/models). */
      modelDir: z.string().optional(),
      pipeline: z
        .string()
        .regex(/^[\w.-]+$/, 'letters, digits, "_", "-" and "." only')
        .max(64, 'at most 64 characters (a pipeline other than the default puts its name in its cluster ids)')
        .default(DEFAULT_PIPELINE),
    })
    .prefault({}),
  /** Trend detection: the detector, alert kinds, gates and episodes (src/trends/config.ts) plus wiring. */
  trends: trendConfigSchema
    .extend({
      enabled: z.boolean().default(true),
      /** A bucket is evaluated once the stream's event time is this far past its end. */
      allowedLatenessMinutes: z.number().nonnegative().default(10),
      /**
       * An event dated more than this far after its arrival (the wall clock when it was ingested) is stored
       * but kept out of trend detection (counted as `future_events`), live and in a restart's rebuild: one
       * mistyped year would otherwise carry event time, and with it every bucket close, years ahead, and
       * leave every real event after it late.
       */
      maxFutureHours: z.number().positive().default(24),
      /** On start, detector state is rebuilt from this much stored history (buckets announced before stay silent). */
      rebuildDays: z.number().int().positive().default(28),
      /** A contact is a repeat when the same customer was on the same cluster within this many days. */
      repeatWindowDays: positiveInt.default(7),
    })
    .prefault({}),
  /** Who owns what (routing rules, default owner) and what a contact costs. */
  owners: ownersConfigSchema.prefault({}),
  alerts: z
    .object({
      /** Publish to kafka.alertsTopic (keyed by episode id) when consuming from Kafka. */
      kafka: z.boolean().default(true),
      log: z.boolean().default(true),
      webhooks: z
        .array(
          z.object({
            /** No user:password@ in it: the Standard Webhooks signature is what authenticates recur. */
            url: z.url().refine((v) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(v), 'must not carry credentials (user:password@); the signature authenticates recur'),
            /** Standard Webhooks secret ("whsec_…"); prefer secretFile. */
            secret: z.string().optional(),
            secretFile: z.string().optional(),
            timeoutMs: timerMs.default(10_000),
          }),
        )
        .default([]),
      /**
       * On start, episodes updated within this many days whose latest version a sink never got (the stopped
       * process held them in memory) are sent to it again; 0 turns it off.
       */
      redeliverDays: z.number().nonnegative().default(3),
      /**
       * On start, also send again what a sink refused for good within redeliverDays (a 4xx: a receiver whose
       * clock, secret or path was wrong, since mended): for one start, after the mend.
       */
      redeliverFailed: z.boolean().default(false),
    })
    .prefault({}),
  serve: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8470),
      /** Host names a shared server is reached by: requests naming any other name are refused (DNS rebinding). */
      allowedHosts: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** Fault injection for the fault suite (scripts/fault-suite.ts); never set in production. */
  testing: z
    .object({
      /** Pipeline crash windows (at batch crashOnBatch); `rerun_before_delete` / `rerun_after_delete`: `recur rerun` between its insert and its delete, and after the delete. */
      crashAt: z.enum(['none', 'before_insert', 'during_insert', 'after_insert', 'rerun_before_delete', 'rerun_after_delete']).default('none'),
      /** Which batch (1-based, counted from process start) triggers crashAt. */
      crashOnBatch: positiveInt.default(1),
      /** Every store write fails (retriably) for this long after start: exercises back-pressure. */
      failWritesForMs: z.number().int().nonnegative().max(MAX_TIMER_MS).default(0),
      /** Negative control: insert without deduplication tokens, so replays must show up as duplicates. */
      disableDedup: z.boolean().default(false),
    })
    .prefault({}),
  log: z
    .object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type MaskRuleConfig = z.infer<typeof maskRuleSchema>;
