import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Gauge, type Registry } from 'prom-client';
import { HEALTH_STATUSES } from '../../health/record.js';
import type { HealthStore } from '../../health/store.js';
import type { LapseSweeper } from '../../workers/lapse-sweeper.js';

/**
 * GET /metrics in Prometheus's text format: this process's metrics (each worker exports the cameras it
 * ingests) and, on a relay, the deployment's counts by status from the kept aggregates.
 */
export const metricsRoutes =
  (deps: { metrics: Registry; health?: HealthStore; sweeper?: LapseSweeper }): FastifyPluginAsyncZod =>
  async (app) => {
    if (deps.health && deps.sweeper) registerDeploymentMetrics(deps.metrics, deps.health, deps.sweeper);
    app.get(
      '/metrics',
      {
        config: { access: 'operator' },
        schema: { tags: ['probes'], summary: 'Prometheus metrics of this process' },
      },
      async (_request, reply) =>
        reply.header('content-type', deps.metrics.contentType).send(await deps.metrics.metrics()),
    );
  };

function registerDeploymentMetrics(registry: Registry, health: HealthStore, sweeper: LapseSweeper): void {
  let summary: ReturnType<HealthStore['summary']> | null = null;
  // Both gauges are filled from one summary per scrape.
  const latest = () => {
    summary ??= sweeper
      .sweep()
      .then(() => health.summary())
      .finally(() => {
        setImmediate(() => {
          summary = null;
        });
      });
    return summary;
  };
  new Gauge({
    name: 'camrelay_cameras',
    help: 'Registered cameras by status, deployment-wide.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { byStatus } = await latest();
      for (const status of [...HEALTH_STATUSES, 'unknown'] as const) this.set({ status }, byStatus[status]);
    },
  });
  new Gauge({
    name: 'camrelay_workers_live',
    help: 'Workers that reported within CAMERA_LEASE_TTL_MS.',
    registers: [registry],
    async collect() {
      this.set((await latest()).workers.live);
    },
  });
}
