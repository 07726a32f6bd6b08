import { type CamrelayProcess, startCamrelayProcess } from './camrelay-process.js';

export type RelayProcess = CamrelayProcess;

/** The built CLI's relay role as an operator runs it, on a free loopback port: see startCamrelayProcess. */
export function startRelayProcess(
  env: Record<string, string>,
  options: { cpuProfileDir?: string | undefined } = {},
): Promise<RelayProcess> {
  return startCamrelayProcess('relay', env, options);
}
