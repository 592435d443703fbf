// Sinks: delivery of trend alerts (Kafka topic, Standard Webhooks-signed HTTP, log) with retries and
// health, plus the receiver helper users run to verify our webhooks. Routing is owners/' job.
export {
  alertPayloadSchema,
  alertPayloadJsonSchema,
  buildAlertPayload,
  drillDownSql,
  assertClusterId,
  EpisodeVersions,
  CLUSTER_ID_PATTERN,
  CLUSTER_STATUSES,
  type AlertPayload,
  type AlertContext,
} from './payload.js';
export { SinkError, type AlertSink } from './types.js';
export { KafkaAlertSink } from './kafka.js';
export { LogSink, type AlertLogger } from './log.js';
export { WebhookSink, type WebhookSinkOptions } from './webhook.js';
export {
  DeliveryQueue,
  type DeliveryQueueOptions,
  type DeliveryEvent,
  type DeliveryOutcome,
  type OverflowPolicy,
  type SinkHealth,
} from './queue.js';
export { backoffDelay, abortableSleep } from './backoff.js';
export { signWebhook, verifyWebhook, webhookKey, type VerifyOptions, type VerifyResult, type VerifyFailure, type WebhookHeaders } from './signing.js';
export { createWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions, type ReceiverMode, type RefusalReason } from './receiver.js';
