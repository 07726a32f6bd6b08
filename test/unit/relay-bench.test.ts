import { describe, expect, it } from 'vitest';
import { type CpuProfile, originOf, summariseCpuProfile } from '../../bench/support/cpu-profile.js';
import { parseWrkOutput, wrkFailures } from '../../bench/support/wrk.js';

/** A report captured from wrk 4.1 (Debian 12) against a local server. */
const CLEAN = `Running 1s test @ http://127.0.0.1:18111/a.txt
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.00ms    1.88ms  10.91ms   83.29%
    Req/Sec     1.18k   327.17     1.57k    80.00%
  Latency Distribution
     50%    1.00ms
     75%    2.86ms
     90%    4.65ms
     99%    8.20ms
  1173 requests in 1.00s, 218.79KB read
Requests/sec:   1172.20
Transfer/sec:    218.64KB
`;

/** The same with the lines wrk adds when requests fail (as in its report of a 404 run), and other units. */
const FAILING = CLEAN.replace('50%    1.00ms', '50%  815.00us')
  .replace(
    '218.79KB read\n',
    '218.79KB read\n  Socket errors: connect 0, read 2, write 0, timeout 5\n  Non-2xx or 3xx responses: 1627\n',
  )
  .replace('Transfer/sec:    218.64KB', 'Transfer/sec:      1.50GB');

describe('parseWrkOutput', () => {
  it('reads rate, percentiles, bytes and transfer in their units', () => {
    const result = parseWrkOutput(CLEAN);
    expect(result).toMatchObject({
      requests: 1173,
      durationSec: 1,
      requestsPerSec: 1172.2,
      p50Ms: 1,
      p99Ms: 8.2,
    });
    expect(result.readBytes).toBeCloseTo(218.79 * 1024);
    expect(result.transferMiBps).toBeCloseTo(218.64 / 1024);
    expect(wrkFailures(result)).toEqual([]);
  });

  it('turns microseconds and GB into ms and MiB, and reports every kind of failure', () => {
    const result = parseWrkOutput(FAILING);
    expect(result.p50Ms).toBeCloseTo(0.815);
    expect(result.transferMiBps).toBeCloseTo(1.5 * 1024);
    expect(wrkFailures(result)).toEqual([
      '1627 responses with status >= 400',
      '2 socket read errors',
      '5 socket timeout errors',
    ]);
  });

  it('refuses a report it cannot read rather than guess', () => {
    expect(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused')).toThrow(/unreadable/);
    expect(() => parseWrkOutput(CLEAN.replace(/ {5}99%.*\n/, ''))).toThrow(/99%/);
  });
});

describe('summariseCpuProfile', () => {
  const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('writev') },
      { id: 4, callFrame: frame('verify', 'file:///srv/camrelay/dist/security/stream-signer.js') },
      { id: 5, callFrame: frame('route', 'file:///srv/camrelay/node_modules/fastify/lib/route.js') },
    ],
    // A sample's time is the delta after it: the first delta is before any sample.
    samples: [2, 3, 3, 4, 5, 2],
    timeDeltas: [0, 5000, 300, 300, 100, 300, 7000],
  };

  it('shares the busy time by function and by origin, leaving idle time apart', () => {
    const summary = summariseCpuProfile(profile);
    expect(summary.idleMs).toBeCloseTo(5 + 7);
    expect(summary.busyMs).toBeCloseTo(1);
    expect(summary.functions).toEqual([
      { name: 'writev', share: 0.6 },
      { name: 'route fastify/lib/route.js:10', share: 0.3 },
      { name: 'verify dist/security/stream-signer.js:10', share: 0.1 },
    ]);
    expect(summary.origins.map((o) => o.name)).toEqual([
      '(native)',
      'fastify',
      'camrelay security/stream-signer.js',
    ]);
  });

  it('names origins by package, scoped or not', () => {
    expect(originOf('file:///x/node_modules/@fastify/cors/index.js', 'f')).toBe('@fastify/cors');
    expect(originOf('node:internal/http', 'f')).toBe('node internals');
    expect(originOf('', '(garbage collector)')).toBe('(garbage collector)');
  });
});
