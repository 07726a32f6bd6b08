import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino censors wherever they appear. Camera URLs are masked before they are logged at all
 * (cameras/url.ts); this is the second line of defence for credentials that arrive in other shapes.
 */
const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** The one root logger. Everything else is a child of it: `log.child({ cameraId })`. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'camrelay',
      level,
      redact: { paths: REDACTED_PATHS, censor: '***' },
      base: { pid: process.pid },
    },
    destination,
  );
}
