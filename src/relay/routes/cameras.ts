import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  cameraCreateSchema,
  cameraIdSchema,
  cameraPatchSchema,
  cameraViewSchema,
  toCameraView,
} from '../../cameras/camera.js';
import type { CameraRegistry } from '../../cameras/registry.js';
import type { CameraService } from '../../cameras/service.js';
import { Errors } from '../../errors.js';
import { healthViewSchema } from '../../health/record.js';
import type { HealthStore } from '../../health/store.js';
import { errorSchema } from '../error-schema.js';

export interface CameraRoutesDeps {
  registry: CameraRegistry;
  cameras: CameraService;
  health: HealthStore;
}

const idParams = z.object({ id: cameraIdSchema });
const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Page size, 1-1000.'),
  cursor: cameraIdSchema.optional().describe('nextCursor of the previous page.'),
});
const pageSchema = z
  .object({
    items: z.array(cameraViewSchema),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
  })
  .meta({ id: 'CameraPage' });

const tags = ['cameras'];

export const cameraRoutes =
  (deps: CameraRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/v1/cameras',
      {
        schema: {
          tags,
          summary: 'Register a camera',
          body: cameraCreateSchema,
          response: { 201: cameraViewSchema, 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => reply.code(201).send(toCameraView(await deps.cameras.create(request.body))),
    );

    app.get(
      '/api/v1/cameras',
      {
        schema: {
          tags,
          summary: 'List cameras, in id order',
          querystring: listQuery,
          response: { 200: pageSchema, 400: errorSchema },
        },
      },
      async (request) => {
        const page = await deps.registry.list(request.query.limit, request.query.cursor);
        return { items: page.items.map(toCameraView), nextCursor: page.nextCursor };
      },
    );

    app.get(
      '/api/v1/cameras/:id',
      {
        schema: {
          tags,
          summary: 'Get a camera',
          params: idParams,
          response: { 200: cameraViewSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const camera = await deps.registry.get(request.params.id);
        if (!camera) throw new Errors.CAMERA_NOT_FOUND(request.params.id);
        return toCameraView(camera);
      },
    );

    app.patch(
      '/api/v1/cameras/:id',
      {
        schema: {
          tags,
          summary: 'Change a camera; ingest follows within seconds',
          params: idParams,
          body: cameraPatchSchema,
          response: { 200: cameraViewSchema, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request) => toCameraView(await deps.cameras.update(request.params.id, request.body)),
    );

    app.delete(
      '/api/v1/cameras/:id',
      {
        schema: {
          tags,
          summary: 'Delete a camera; its ingest stops and its output is removed',
          params: idParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (request, reply) => {
        if (!(await deps.cameras.delete(request.params.id)))
          throw new Errors.CAMERA_NOT_FOUND(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/cameras/:id/health',
      {
        schema: {
          tags: ['health'],
          summary: "A camera's health, as its worker last reported it",
          params: idParams,
          response: { 200: healthViewSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const [camera, health] = await Promise.all([
          deps.registry.get(request.params.id),
          deps.health.get(request.params.id),
        ]);
        if (!camera) throw new Errors.CAMERA_NOT_FOUND(request.params.id);
        return health ?? deps.health.unrecorded(request.params.id);
      },
    );
  };
