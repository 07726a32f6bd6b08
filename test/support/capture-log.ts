import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

/** A real pino logger whose lines the test can read back, e.g. to prove no password was ever logged. */
export function captureLog(level = 'debug'): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (process.env.CAMRELAY_TEST_LOG) process.stderr.write(chunk);
      done();
    },
  });
  return { log: createLogger(level, sink), lines };
}
