import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { HEALTH_STATUSES } from '../../health/record.js';
import type { HealthStore } from '../../health/store.js';
import type { LapseSweeper } from '../../workers/lapse-sweeper.js';

const summarySchema = z
  .object({
    total: z.number().int().describe('Registered cameras.'),
    byStatus: z
      .object(Object.fromEntries([...HEALTH_STATUSES, 'unknown'].map((s) => [s, z.number().int()])))
      .describe('Cameras per status; unknown: registered but never reported.'),
    workers: z.object({
      live: z.number().int().describe('Workers that reported within CAMERA_LEASE_TTL_MS.'),
    }),
  })
  .meta({ id: 'HealthSummary' });

export const healthRoutes =
  (deps: { health: HealthStore; sweeper: LapseSweeper }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/v1/health',
      {
        config: { access: 'operator' },
        schema: {
          tags: ['health'],
          summary: 'Cameras by status and live workers, from kept counts (no key scans)',
          response: { 200: summarySchema },
        },
      },
      async () => {
        await deps.sweeper.sweep();
        return deps.health.summary();
      },
    );
  };
