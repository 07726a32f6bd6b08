import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createConnection } from 'node:net';
import path from 'node:path';
import { Errors } from '../errors.js';
import type { Logger } from '../log.js';

export interface EmbeddedRedis {
  /** unix:///…/redis.sock: a socket, so the private Redis is reachable by nobody else on the network. */
  readonly url: string;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 10_000;
/** sun_path holds 108 bytes on Linux. */
const MAX_SOCKET_PATH = 100;

/**
 * Starts a private redis-server for `camrelay all` when REDIS_URL is unset: data under DATA_DIR/redis,
 * AOF on, listening on a unix socket only. It dies with camrelay, even on SIGKILL (parent-death signal).
 */
export async function startEmbeddedRedis(dataDir: string, log: Logger): Promise<EmbeddedRedis> {
  const binary = findOnPath('redis-server');
  const dir = path.join(dataDir, 'redis');
  const socket = path.join(dir, 'redis.sock');
  if (socket.length > MAX_SOCKET_PATH) {
    throw new Errors.REDIS_START_FAILED(
      `socket path ${socket} is too long for a unix socket; use a shorter DATA_DIR`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (await canConnect(socket)) {
    throw new Errors.REDIS_START_FAILED(
      `${socket} is in use: is another camrelay running with DATA_DIR=${dataDir}?`,
    );
  }
  const child = spawn(
    'setpriv',
    ['--pdeathsig', 'TERM', '--', binary, ...serverArgs(dir, socket)],
    // Its own process group: a Ctrl-C in the terminal must not stop Redis before camrelay has shut down.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForSocket(socket, exited);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Errors.REDIS_START_FAILED(`${(err as Error).message}; redis said: ${output().slice(-500)}`);
  }
  log.info({ socket, dir }, 'embedded redis-server started');
  return {
    url: `unix://${socket}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM'); // redis fsyncs its AOF and exits
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      log.info('embedded redis-server stopped');
    },
  };
}

function serverArgs(dir: string, socket: string): string[] {
  return [
    '--port',
    '0',
    '--unixsocket',
    socket,
    '--unixsocketperm',
    '700',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
}

function findOnPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Errors.REDIS_SERVER_NOT_FOUND(`${name} is not on PATH`);
}

function collectOutput(child: ChildProcess): () => string {
  let text = '';
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => text;
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = createConnection(socket);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

async function waitForSocket(socket: string, exited: Promise<void>): Promise<void> {
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (dead) throw new Error('redis-server exited during start-up');
    if (await canConnect(socket)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no answer on ${socket} within ${START_TIMEOUT_MS} ms`);
}
