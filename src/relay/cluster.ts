import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
import { Errors } from '../errors.js';
import type { Logger } from '../log.js';

/** A relay process that dies after it served is replaced after this long (not at once: no hot loop). */
const RESTART_DELAY_MS = 1000;
/** After a shutdown signal, the longest the cluster waits for its relays to stop before it kills them. */
const SHUTDOWN_DEADLINE_MS = 30_000;
const STOP_MESSAGE = 'camrelay:stop';

/**
 * How many relay processes this one is to run: RELAY_PROCESSES, which only the relay role takes (the
 * others run a worker, a push server or their own Redis, of which there must be one per process).
 */
export function relayProcesses(config: Config, role: string): number {
  const { processes } = config.relay;
  if (processes > 1 && role !== 'relay')
    throw new Errors.CONFIG_INVALID(
      `  RELAY_PROCESSES: only the relay role runs several processes (this is "${role}"); leave it at 1`,
    );
  return processes;
}

/**
 * The primary of a relay cluster: it serves nothing itself, but forks `processes` relays that share its
 * port (Node's cluster hands each new connection to one of them in turn), replaces one that dies, and on
 * SIGTERM or SIGINT stops them all in order; a second signal kills them. Each relay is a whole relay like
 * one on another host (caches of its own; rate limits, keys and the rest in Redis), so nothing else changes.
 */
export function runRelayCluster(processes: number, log: Logger): void {
  const listening = new WeakSet<Worker>();
  let stopping = false;
  let exitCode = 0;
  for (let i = 0; i < processes; i++) cluster.fork();
  cluster.on('listening', (worker, address) => {
    listening.add(worker);
    log.info({ relayPid: worker.process.pid, port: address.port }, 'relay process listening');
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping && !listening.has(worker)) {
      // It never served: its configuration or its port is wrong, and so would a replacement's be.
      log.fatal(
        { relayPid: worker.process.pid, code, signal },
        'relay process did not start; stopping the cluster',
      );
      exitCode = code || 1;
      stopAll();
    } else if (!stopping) {
      log.error({ relayPid: worker.process.pid, code, signal }, 'relay process died; replacing it');
      setTimeout(() => {
        if (!stopping) cluster.fork();
      }, RESTART_DELAY_MS);
    }
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  });
  const stopAll = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(STOP_MESSAGE);
    }
    setTimeout(() => {
      log.error('relay processes took too long to stop; killing them');
      killAll();
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: killing the relay processes');
      killAll();
      process.exit(130);
    }
    log.info({ signal, processes }, 'shutting down the relay cluster');
    stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

function killAll(): void {
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
}

/**
 * In a relay of a cluster: stop (once) when the primary says so, when the primary is gone, or on a signal
 * of our own (a terminal's Ctrl-C reaches every process of the group, a service manager may signal them
 * all); whichever comes first. The primary holds the deadline and kills a relay that does not stop.
 */
export function stopWithCluster(stop: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const stopOnce = (why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'relay process shutting down');
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('message', (message) => {
    if (message === STOP_MESSAGE) stopOnce('the cluster is stopping');
  });
  process.on('disconnect', () => stopOnce('the cluster primary is gone'));
  process.on('SIGTERM', () => stopOnce('SIGTERM'));
  process.on('SIGINT', () => stopOnce('SIGINT'));
}
