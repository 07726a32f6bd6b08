import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface CliRun {
  child: ChildProcess;
  /** The URL camrelay logged once started (relay, or the worker's probe server). */
  url: Promise<string>;
  /** Every line it wrote, stdout and stderr. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Every CLI process started, so killAll() leaves none behind a failed test. */
const started: ChildProcess[] = [];

/** camrelay as users run it: the built CLI in its own process, with only the environment given here. */
export function runCli(args: string[], env: Record<string, string>): CliRun {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: run npm run build');
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const output: string[] = [];
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => {
    resolveUrl = resolve;
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      if (process.env.CAMRELAY_TEST_LOG) process.stderr.write(`${line}\n`);
      if (/"msg":"camrelay started"/.test(line)) resolveUrl((JSON.parse(line) as { url: string }).url);
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, url, output, exited };
}

export function killAll(): void {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Short health timings, so tests see status changes quickly. */
export const FAST_HEALTH = {
  HEALTH_PUBLISH_INTERVAL_MS: '500',
  CAMERA_LEASE_TTL_MS: '3000',
  CAMERA_START_WAIT_MS: '3000',
};

/** What a worker needs to join a test relay: its Redis, prefix, key and (unless given) its HLS folder. */
export function workerEnv(
  relay: {
    config: {
      redis: { prefix: string };
      hlsRoot: string;
      dataDir: string;
      security: { secretKey?: Buffer | undefined };
    };
  },
  redisUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    CAMRELAY_SECRET_KEY: (relay.config.security.secretKey as Buffer).toString('hex'),
    CAMERA_NETWORKS: '127.0.0.0/8,::1/128',
    REDIS_PREFIX: relay.config.redis.prefix,
    HLS_ROOT: relay.config.hlsRoot,
    DATA_DIR: relay.config.dataDir,
    WORKER_PORT: '0',
    ...FAST_HEALTH,
    ...extra,
  };
}
