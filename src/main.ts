#!/usr/bin/env node
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, type Role, startCamrelay } from './camrelay.js';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { startDemo } from './demo/demo.js';
import { createLogger, type Logger } from './log.js';
import { relayProcesses, runRelayCluster, stopWithCluster } from './relay/cluster.js';

const USAGE = `Usage: camrelay <role>

Roles:
  all      relay, ingest worker and RTMP server in one process; starts its own Redis when REDIS_URL is unset
  relay    the HTTP API and HLS server (needs REDIS_URL)
  worker   an ingest worker: runs ffmpeg for the cameras it takes from the queue (needs REDIS_URL)
  push     an RTMP(S) server for push cameras; workers pull what is published here (needs REDIS_URL)
  demo     "all" plus demo RTSP cameras, registered and playing

Settings come from environment variables (or a JSON file named by CONFIG_FILE); see README.md.
`;

/** After a shutdown signal, the longest camrelay waits for a clean stop before it exits anyway. */
const SHUTDOWN_DEADLINE_MS = 30_000;
const EXIT_CONFIG = 78;

async function main(args: string[]): Promise<void> {
  const [role] = args;
  if (!role || role === '--help' || role === '-h') {
    process.stdout.write(USAGE);
    process.exit(role ? 0 : 2);
  }
  if (role === '--version') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (role !== 'demo' && !(ROLES as readonly string[]).includes(role)) {
    process.stderr.write(`camrelay: unknown role "${role}"\n\n${USAGE}`);
    process.exit(2);
  }
  let config: Config;
  try {
    config = loadConfig(role === 'demo' ? demoEnv() : process.env);
  } catch (err) {
    process.stderr.write(`camrelay: ${(err as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const log = createLogger(config.logLevel);
  let processes: number;
  try {
    processes = relayProcesses(config, role);
  } catch (err) {
    process.stderr.write(`camrelay: ${(err as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  if (processes > 1 && cluster.isPrimary) {
    runRelayCluster(processes, log);
    return;
  }
  let running: Awaited<ReturnType<typeof startCamrelay>>;
  try {
    running = role === 'demo' ? await startDemo(config, log) : await startCamrelay(config, role as Role, log);
  } catch (err) {
    log.fatal({ err }, 'camrelay did not start');
    process.stderr.write(`camrelay: ${(err as Error).message}\n`);
    process.exit((err as { code?: string }).code === 'CAMRELAY_ERR_CONFIG_INVALID' ? EXIT_CONFIG : 1);
  }
  if (cluster.isWorker) stopWithCluster(running.stop, log);
  else stopOnSignals(running.stop, log);
}

function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** The demo runs with quieter logs and, unless one is given, a new random admin token it prints. */
function demoEnv(): NodeJS.ProcessEnv {
  return {
    LOG_LEVEL: 'warn',
    CAMRELAY_ADMIN_TOKEN: `crt_${randomBytes(32).toString('base64url')}`,
    ...process.env,
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

await main(process.argv.slice(2));
