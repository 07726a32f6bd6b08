import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/ports.js';
import { descendants, stopChild } from './processes.js';

export interface RelayProcess {
  /** http://127.0.0.1:PORT */
  url: string;
  /** The process started, and every process below it (a relay cluster's workers), for CPU sampling. */
  pids(): number[];
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * The built CLI, `node dist/main.js relay`, as an operator runs it, on a free loopback port. `env` is its
 * configuration on top of this process's PATH. With `cpuProfileDir`, Node writes a CPU profile of each of
 * its processes there when it exits (`--cpu-prof`).
 */
export async function startRelayProcess(
  env: Record<string, string>,
  { cpuProfileDir }: { cpuProfileDir?: string | undefined } = {},
): Promise<RelayProcess> {
  const port = await freePort();
  const nodeArgs = cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, MAIN, 'relay'], {
    env: { PATH: process.env.PATH, ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await untilReady(url, child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const pid = child.pid as number;
  return {
    url,
    pids: () => [pid, ...descendants(pid)],
    stop: () => stopChild(child, 'SIGTERM', STOP_TIMEOUT_MS),
  };
}

async function untilReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`camrelay relay exited (${child.exitCode}): ${stderr()}`);
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`camrelay relay not ready on ${url} within ${START_TIMEOUT_MS} ms: ${stderr()}`);
}
