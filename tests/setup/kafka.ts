import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

/**
 * A real broker for the integration tests: KAFKA_BROKERS when set (CI with a service, docker-compose),
 * otherwise scripts/kafka-local.sh starts one on 127.0.0.1:19192 for this run and stops it afterwards.
 */
export default function setup(project: TestProject): () => void {
  const given = process.env['KAFKA_BROKERS'];
  if (given) {
    project.provide('kafkaBrokers', given);
    return () => {};
  }
  const env = { ...process.env, KAFKA_PORT: '19192', RECUR_KAFKA_HOME: `${process.cwd()}/.cache/kafka-test` };
  const script = `${process.cwd()}/scripts/kafka-local.sh`;
  execFileSync('bash', [script, 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  project.provide('kafkaBrokers', '127.0.0.1:19192');
  return () => {
    execFileSync('bash', [script, 'stop'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
  }
}
