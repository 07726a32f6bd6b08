import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../src/camrelay.js';
import { freePort } from '../../test/support/ports.js';
import { descendants, stopChild } from './processes.js';

export interface CamrelayProcess {
  /** http(s)://127.0.0.1:PORT: the relay (all, relay) or the worker's own server (worker). */
  url: string;
  pid: number;
  /** The process and every process below it (its ffmpeg, an embedded redis-server), for CPU sampling. */
  pids(): number[];
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * The built CLI, `node dist/main.js <role>`, as an operator runs it, on a free loopback port (PORT, or
 * WORKER_PORT for a worker). `env` is its whole configuration, on top of PATH and HOME. With TLS_CERT_FILE
 * in it the server is checked over HTTPS against that certificate. Ready when /readyz answers 200. With
 * `cpuProfileDir`, Node writes a CPU profile of each of its processes there when it exits (`--cpu-prof`).
 */
export async function startCamrelayProcess(
  role: Role,
  env: Record<string, string>,
  { cpuProfileDir }: { cpuProfileDir?: string | undefined } = {},
): Promise<CamrelayProcess> {
  const port = await freePort();
  const portKey = role === 'worker' ? 'WORKER_PORT' : 'PORT';
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, MAIN, role], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/',
      HOST: '127.0.0.1',
      ...env,
      [portKey]: String(port),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const ca = env.TLS_CERT_FILE ? readFileSync(env.TLS_CERT_FILE) : null;
  const url = `${ca ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await untilReady(url, ca, child, role, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid as number;
  return {
    url,
    pid,
    pids: () => [pid, ...descendants(pid)],
    stop: () => stopChild(child, 'SIGTERM', STOP_TIMEOUT_MS),
  };
}

async function untilReady(
  url: string,
  ca: Buffer | null,
  child: ChildProcess,
  role: Role,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`camrelay ${role} exited (${child.exitCode}): ${stderr()}`);
    if ((await statusOf(`${url}/readyz`, ca)) === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`camrelay ${role} not ready on ${url} within ${START_TIMEOUT_MS} ms: ${stderr()}`);
}

/** The status of a GET, trusting `ca` for HTTPS; 0 when nothing answers. */
function statusOf(url: string, ca: Buffer | null): Promise<number> {
  if (!ca)
    return fetch(url).then(
      (response) => response.status,
      () => 0,
    );
  return new Promise((resolve) => {
    const request = httpsGet(url, { ca, timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', () => resolve(0));
    request.on('timeout', () => request.destroy());
  });
}
