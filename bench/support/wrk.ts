import { spawn } from 'node:child_process';

/** What one wrk run measured, read from its own report. */
export interface WrkResult {
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** wrk's "Transfer/sec", in MiB/s (wrk counts in powers of 1024). */
  transferMiBps: number;
  /** Bytes read, headers included, over all requests. */
  readBytes: number;
  /** Responses with a status of 400 or above (wrk's "Non-2xx or 3xx responses"). */
  errorStatuses: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

export interface WrkOptions {
  threads: number;
  connections: number;
  durationSec: number;
}

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS_BYTES: Record<string, number> = {
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/** Parses the report of `wrk --latency` (pure). Throws on a report it cannot read, rather than guess. */
export function parseWrkOutput(text: string): WrkResult {
  const totals = /(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read/.exec(text);
  const perSec = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/.exec(text);
  if (!totals || !perSec || !transfer) throw new Error(`unreadable wrk report:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const statuses = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requests: Number(totals[1]),
    durationSec: (Number(totals[2]) * unit(TIME_UNITS_MS, totals[3])) / 1000,
    readBytes: Number(totals[4]) * unit(SIZE_UNITS_BYTES, totals[5]),
    requestsPerSec: Number(perSec[1]),
    p50Ms: percentileMs(text, '50'),
    p99Ms: percentileMs(text, '99'),
    transferMiBps: (Number(transfer[1]) * unit(SIZE_UNITS_BYTES, transfer[2])) / 1024 ** 2,
    errorStatuses: Number(statuses?.[1] ?? 0),
    socketErrors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
  };
}

function percentileMs(text: string, percent: string): number {
  const match = new RegExp(`^\\s+${percent}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(text);
  if (!match) throw new Error(`wrk report has no ${percent}% latency (was --latency given?):\n${text}`);
  return Number(match[1]) * unit(TIME_UNITS_MS, match[2]);
}

function unit(table: Record<string, number>, name: string | undefined): number {
  const factor = name === undefined ? undefined : table[name];
  if (factor === undefined) throw new Error(`unknown unit in wrk report: ${name}`);
  return factor;
}

/** Every way a run can have failed that wrk still reports with a req/s figure; empty when it is clean. */
export function wrkFailures(result: WrkResult): string[] {
  const failures: string[] = [];
  if (result.errorStatuses > 0) failures.push(`${result.errorStatuses} responses with status >= 400`);
  for (const [kind, count] of Object.entries(result.socketErrors)) {
    if (count > 0) failures.push(`${count} socket ${kind} errors`);
  }
  if (result.requests === 0) failures.push('no request completed');
  return failures;
}

/** Runs wrk against one URL and returns its report, parsed. The process is always waited for. */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationSec}s`,
    '--latency',
    url,
  ];
  const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
  return parseWrkOutput(output);
}
