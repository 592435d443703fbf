import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

const PORT = 19192;

/**
 * A real broker for the integration tests, in this order: KAFKA_BROKERS when set (CI with a service,
 * docker-compose); a testcontainers Kafka when a Docker engine answers; otherwise
 * scripts/kafka-local.sh starts Apache Kafka from Maven Central jars on 127.0.0.1:19192 for this run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['KAFKA_BROKERS'];
  if (given) {
    project.provide('kafkaBrokers', given);
    return async () => {};
  }
  if (dockerAnswers()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    // Fixed host port: the broker must advertise the address clients use.
    const container = await new GenericContainer('apache/kafka:4.1.1')
      .withExposedPorts({ container: 9092, host: PORT })
      .withEnvironment({
        KAFKA_NODE_ID: '1',
        KAFKA_PROCESS_ROLES: 'broker,controller',
        KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${PORT}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      })
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    project.provide('kafkaBrokers', `127.0.0.1:${PORT}`);
    return async () => {
      await container.stop();
    };
  }
  const env = { ...process.env, KAFKA_PORT: String(PORT), RECUR_KAFKA_HOME: `${process.cwd()}/.cache/kafka-test` };
  const script = `${process.cwd()}/scripts/kafka-local.sh`;
  execFileSync('bash', [script, 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  project.provide('kafkaBrokers', `127.0.0.1:${PORT}`);
  return async () => {
    execFileSync('bash', [script, 'stop'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  };
}

/** `docker` here may be only a client: ask the engine, briefly. */
function dockerAnswers(): boolean {
  if (process.env['RECUR_TESTS_NO_DOCKER']) return false;
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}
