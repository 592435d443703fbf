import type { AlertPayload } from './payload.js';
import type { AlertSink } from './types.js';

export interface AlertLogger {
  info(obj: object, msg: string): void;
}

/** Alerts as structured log lines (pino): data first, a constant message. */
export class LogSink implements AlertSink {
  readonly name = 'log';
  constructor(private readonly log: AlertLogger) {}

  async deliver(p: AlertPayload): Promise<void> {
    const { examples: _examples, drill_down, ...rest } = p;
    this.log.info({ alert: { ...rest, drill_down_cli: drill_down.cli } }, 'trend alert');
  }
}
