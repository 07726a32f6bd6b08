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
import { publishUrl as pushUrl } from '../../push/publish-url.js';
import type { AuditLog } from '../../security/audit.js';
import type { StreamSigner } from '../../security/stream-signer.js';
import { requester } from '../auth.js';
import { errorSchema } from '../error-schema.js';
import type { Snapshots } from '../snapshots.js';

export interface CameraRoutesDeps {
  snapshots: Snapshots;
  registry: CameraRegistry;
  cameras: CameraService;
  health: HealthStore;
  signer: StreamSigner;
  audit: AuditLog;
  streamUrlTtlSec: number;
  /** Where publishers reach camrelay, given the host name the API was called by. */
  publishBase(requestHostname: string): string;
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

const createdSchema = cameraViewSchema
  .extend({
    publishUrl: z
      .string()
      .optional()
      .describe('Push cameras only: where to publish, with the publish key. Shown this once; keep it.'),
  })
  .meta({ id: 'CreatedCamera' });
const publishKeySchema = z
  .object({
    id: cameraIdSchema,
    publishUrl: z.string().describe('The publish URL with the new key. Shown this once; keep it.'),
  })
  .meta({ id: 'PublishKey' });

const streamQuery = z.strictObject({
  bind: z
    .enum(['true', 'false'])
    .default('false')
    .describe("true: the URL works only together with this caller's own credential (cookie or token)."),
});
const streamSchema = z
  .object({
    url: z
      .string()
      .describe(
        'Signed playlist URL; its segments carry the same signature. LL-HLS (parts, blocking reload) where ' +
          'the ingest makes it (HLS_MODE=ll); players without LL-HLS read it as classic HLS.',
      ),
    classicUrl: z
      .string()
      .describe(
        'The same stream as whole segments only (classic.m3u8), for players that mishandle LL-HLS tags.',
      ),
    expiresAt: z.string(),
  })
  .meta({ id: 'StreamUrl' });

export const cameraRoutes =
  (deps: CameraRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/v1/cameras',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: 'Register a camera',
          body: cameraCreateSchema,
          response: { 201: createdSchema, 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        const { camera, publishKey } = await deps.cameras.create(request.body);
        await deps.audit.record(principal, 'camera.create', camera.id, from, camera.maskedUrl ?? 'push');
        const view = toCameraView(camera);
        if (publishKey === null) return reply.code(201).send(view);
        const publishUrl = pushUrl(deps.publishBase(request.hostname), camera.id, publishKey);
        return reply
          .code(201)
          .header('cache-control', 'no-store')
          .send({ ...view, publishUrl });
      },
    );

    app.post(
      '/api/v1/cameras/:id/publish-key',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary:
            'Give a push camera a new publish key; the old one stops working and its publisher is cut off',
          params: idParams,
          response: { 200: publishKeySchema, 404: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        const { camera, publishKey } = await deps.cameras.renewPublishKey(request.params.id);
        await deps.audit.record(principal, 'camera.publish-key', camera.id, from);
        const publishUrl = pushUrl(deps.publishBase(request.hostname), camera.id, publishKey);
        return reply.header('cache-control', 'no-store').send({ id: camera.id, publishUrl });
      },
    );

    app.get(
      '/api/v1/cameras',
      {
        config: { access: 'viewer' },
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
        config: { access: 'viewer' },
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
        config: { access: 'admin' },
        schema: {
          tags,
          summary: 'Change a camera; ingest follows within seconds',
          params: idParams,
          body: cameraPatchSchema,
          response: { 200: cameraViewSchema, 400: errorSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const { principal, from } = requester(request);
        const camera = await deps.cameras.update(request.params.id, request.body);
        const changed = Object.keys(request.body).join(', ');
        await deps.audit.record(principal, 'camera.update', camera.id, from, `changed ${changed}`);
        return toCameraView(camera);
      },
    );

    app.delete(
      '/api/v1/cameras/:id',
      {
        config: { access: 'admin' },
        schema: {
          tags,
          summary: 'Delete a camera; its ingest stops and its output is removed',
          params: idParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        if (!(await deps.cameras.delete(request.params.id))) {
          throw new Errors.CAMERA_NOT_FOUND(request.params.id);
        }
        await deps.audit.record(principal, 'camera.delete', request.params.id, from);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/api/v1/cameras/:id/stream',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['streams'],
          summary: "A short-lived signed URL of the camera's playlist, for hls.js or any HLS player",
          params: idParams,
          querystring: streamQuery,
          response: { 200: streamSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const { principal, from } = requester(request);
        const { id } = request.params;
        if (!(await deps.registry.get(id))) throw new Errors.CAMERA_NOT_FOUND(id);
        const exp = Math.floor(Date.now() / 1000) + deps.streamUrlTtlSec;
        const viewer = request.query.bind === 'true' ? principal.tokenId : undefined;
        const query = new URLSearchParams({ ...(await deps.signer.sign({ cameraId: id, exp, viewer })) });
        await deps.audit.record(principal, 'stream.start', id, from, viewer ? 'bound to viewer' : undefined);
        const base = `${request.protocol}://${request.host}/hls/${id}`;
        return {
          url: `${base}/index.m3u8?${query}`,
          classicUrl: `${base}/classic.m3u8?${query}`,
          expiresAt: new Date(exp * 1000).toISOString(),
        };
      },
    );

    app.get(
      '/api/v1/cameras/:id/snapshot.jpg',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['streams'],
          summary: "A recent JPEG of the camera, from its running ingest's newest keyframe",
          description:
            'Decoded from the first frame of the newest HLS segment; no second connection to the camera. ' +
            'X-Snapshot-Age-Ms says how old the picture is. 404 CAMRELAY_ERR_NO_SNAPSHOT when the camera ' +
            'streams nothing now; 503 when this relay has no ffmpeg to decode with.',
          params: idParams,
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        if (!(await deps.registry.get(id))) throw new Errors.CAMERA_NOT_FOUND(id);
        const snapshot = await deps.snapshots.latest(id);
        if (!snapshot) throw new Errors.NO_SNAPSHOT(id);
        const ageMs = Math.max(0, Date.now() - snapshot.takenAtMs);
        return reply
          .header('content-type', 'image/jpeg')
          .header('cache-control', 'no-store')
          .header('x-snapshot-age-ms', String(ageMs))
          .header('last-modified', new Date(snapshot.takenAtMs).toUTCString())
          .send(snapshot.jpeg);
      },
    );

    app.get(
      '/api/v1/cameras/:id/health',
      {
        config: { access: 'viewer' },
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
