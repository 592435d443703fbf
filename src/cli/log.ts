import pino, { type Logger } from 'pino';

/** Structured logs on stderr (stdout carries data only); secrets are redacted by key wherever they appear. */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'recur' },
      redact: {
        paths: ['password', '*.password', '*.*.password', 'sasl', '*.sasl', 'headers.authorization', '*.secret', 'secret', 'token'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
