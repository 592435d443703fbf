// Where events come from: a Kafka consumer group (kafkajs hidden behind our interface), a file, stdin.
// Sources hand batches to a handler and commit only what the handler says is stored.
export * from './types.js';
export { LineSource, fileIdentity, linesPerBatch, readOnce, type FileIdentity } from './file.js';
export { KafkaSource, kafkaClient } from './kafka.js';
export { createProducer, type MessageProducer } from './kafka-producer.js';
