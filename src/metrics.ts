import { collectDefaultMetrics, Registry } from 'prom-client';

/** The process's one metrics registry: Node's process metrics plus whatever the roles in it register. */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
