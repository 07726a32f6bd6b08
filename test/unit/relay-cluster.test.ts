import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { relayProcesses } from '../../src/relay/cluster.js';

describe('RELAY_PROCESSES', () => {
  it('is one process unless asked, in every role', () => {
    for (const role of ['all', 'relay', 'worker', 'push', 'demo'])
      expect(relayProcesses(loadConfig({}), role)).toBe(1);
  });

  it('runs several processes of the relay role only', () => {
    const config = loadConfig({ RELAY_PROCESSES: '2' });
    expect(relayProcesses(config, 'relay')).toBe(2);
    for (const role of ['all', 'worker', 'push', 'demo']) {
      expect(() => relayProcesses(config, role)).toThrow(/RELAY_PROCESSES: only the relay role/);
    }
  });

  it('refuses no process at all, or more than 64', () => {
    expect(() => loadConfig({ RELAY_PROCESSES: '0' })).toThrow(/RELAY_PROCESSES: must be at least 1/);
    expect(() => loadConfig({ RELAY_PROCESSES: '65' })).toThrow(/RELAY_PROCESSES: must be at most 64/);
  });
});
