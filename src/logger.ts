// One pino setup for the API and the worker. Secrets are redacted wherever they might appear.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export const loggerOptions = (level: string, name: string): LoggerOptions => ({
  level,
  name,
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers["x-api-key"]',
      'headers.authorization',
      '*.apiKey',
      'apiKey',
    ],
    censor: '[redacted]',
  },
});

export function createLogger(level: string, name: string): Logger {
  return pino(loggerOptions(level, name));
}
