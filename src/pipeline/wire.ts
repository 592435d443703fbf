import { closeSync, openSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { compileMaskRules, maskPii } from '../text/mask.js';
import { normalizeText } from '../text/normalize.js';
import { createProducer, fileIdentity, kafkaClient, KafkaSource, LineSource, linesPerBatch, type FileIdentity, type MessageProducer, type Source } from '../sources/index.js';
import type { DeadLetterPublisher } from './ingest.js';
import type { Masker } from './rows.js';

/** Normalise, then mask with the default rules plus the config's extra rules. */
export function createMasker(config: Config): Masker {
  const rules = compileMaskRules(config.mask.extraRules);
  return (text: string) => maskPii(normalizeText(text), rules);
}

export interface SourceSetup {
  source: Source;
  deadLetters?: DeadLetterPublisher;
  /** The Kafka producer (dead letters, alerts) when the source is Kafka. */
  producer?: MessageProducer;
  close(): Promise<void>;
}

/** `--input FILE`, `--input -` (stdin) or the Kafka consumer group with a dead-letter topic. */
export async function createSource(
  config: Config,
  log: Logger,
  input: string | undefined,
  stdin: NodeJS.ReadableStream,
  /** The file inputs the store has taken, and a record of what this run reads (a file run again, grown or under another name, keeps its topic). */
  files: { known(): Promise<readonly FileIdentity[]>; record(f: FileIdentity): Promise<void> } = { known: async () => [], record: async () => {} },
): Promise<SourceSetup> {
  if (input === '-') {
    const runId = new Date().toISOString().replace(/[:.]/g, '');
    return { source: LineSource.fromStdin(stdin as never, runId, linesPerBatch(config.ingest.maxBatchRows), config.ingest.maxMessageBytes), close: async () => {} };
  }
  if (input) {
    if (!statSync(input).isFile()) return { source: LineSource.fromFile(input, linesPerBatch(config.ingest.maxBatchRows), config.ingest.maxMessageBytes), close: async () => {} };
    // Opened once: hashed and read through the same descriptor, so the identity is of exactly what is read.
    const fd = openSync(input, 'r');
    try {
      const identity = fileIdentity(input, await files.known(), fd);
      // Recorded before it is read: a run stopped part-way is this content again for the next one.
      await files.record(identity);
      return { source: LineSource.fromFile(input, linesPerBatch(config.ingest.maxBatchRows), config.ingest.maxMessageBytes, identity, fd), close: async () => {} };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }
  const kafka = kafkaClient(config.kafka, log);
  const producer: MessageProducer = await createProducer(kafka, config.kafka.brokers);
  const source = new KafkaSource(kafka, config.kafka, log);
  return {
    source,
    producer,
    deadLetters: { publish: (rows) => producer.send(config.kafka.deadLetterTopic, rows) },
    close: () => producer.close(),
  };
}
