import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cameraIdSchema } from '../../cameras/camera.js';
import { HEALTH_STATUSES, type HealthView, healthViewSchema } from '../../health/record.js';
import type { HealthStore } from '../../health/store.js';
import type { LapseSweeper } from '../../workers/lapse-sweeper.js';
import { errorSchema } from '../error-schema.js';

const summarySchema = z
  .object({
    total: z.number().int().describe('Registered cameras.'),
    byStatus: z
      .object(Object.fromEntries([...HEALTH_STATUSES, 'unknown'].map((s) => [s, z.number().int()])))
      .describe('Cameras per status; unknown: registered but never reported.'),
    workers: z.object({
      live: z
        .number()
        .int()
        .describe(
          'Workers that reported within two HEALTH_PUBLISH_INTERVAL_MS (at least CAMERA_LEASE_TTL_MS).',
        ),
    }),
  })
  .meta({ id: 'HealthSummary' });

const batchQuery = z.strictObject({
  ids: z
    .string()
    .transform((value) => [...new Set(value.split(',').filter(Boolean))])
    .pipe(z.array(cameraIdSchema).min(1).max(100))
    .describe('Comma-separated camera ids, 1 to 100.'),
});
const batchSchema = z
  .object({ items: z.array(healthViewSchema).describe('Cameras without a health record are left out.') })
  .meta({ id: 'HealthBatch' });

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

    app.get(
      '/api/v1/health/cameras',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['health'],
          summary: 'The health of up to 100 cameras in one call, for walls and pickers',
          querystring: batchQuery,
          response: { 200: batchSchema, 400: errorSchema },
        },
      },
      async (request) => {
        const records = await deps.health.getMany(request.query.ids);
        return { items: records.filter((record): record is HealthView => record !== null) };
      },
    );
  };
