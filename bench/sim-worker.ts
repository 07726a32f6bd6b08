/** `camrelay worker` with simulated ingest (bench/simulated-supervisor.ts), configured by the environment. */
import { startCamrelay } from '../src/camrelay.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { createSimulatedSupervisor } from './simulated-supervisor.js';

/** As `camrelay worker` does: a stop that hangs (Redis gone) must not keep the process. */
const STOP_DEADLINE_MS = 30_000;

const config = loadConfig();
const log = createLogger(config.logLevel);
const running = await startCamrelay(config, 'worker', log, { createSupervisor: createSimulatedSupervisor });
const stop = () => {
  setTimeout(() => process.exit(1), STOP_DEADLINE_MS).unref();
  void running.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
// The benchmark holds our stdin: when it dies, however it dies, so does this worker.
process.stdin.on('end', stop).resume();
