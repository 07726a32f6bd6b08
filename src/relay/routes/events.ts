import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cameraIdSchema } from '../../cameras/camera.js';
import type { CameraRegistry } from '../../cameras/registry.js';
import { Errors } from '../../errors.js';
import { compareStreamIds, type EventFeed } from '../../health/event-feed.js';
import { STREAM_ID_PATTERN, type StatusEvent, statusEventSchema } from '../../health/events.js';
import type { HealthStore } from '../../health/store.js';
import { errorSchema } from '../error-schema.js';

const KEEPALIVE_MS = 15_000;
const CATCH_UP_LIMIT = 10_000;
const RECONNECT_HINT_MS = 2000;

const streamId = z
  .string()
  .regex(STREAM_ID_PATTERN, { error: 'must be a stream id such as 1700000000000-0' });
const liveQuery = z.strictObject({
  since: streamId.optional().describe('Resume after this event id (the Last-Event-ID header does the same).'),
  cameras: z
    .string()
    .optional()
    .transform((value) => (value ? value.split(',').filter(Boolean) : []))
    .pipe(z.array(cameraIdSchema))
    .describe('Comma-separated camera ids; all cameras when absent.'),
});
const historyQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(50).default(50) });
const historySchema = z.object({ items: z.array(statusEventSchema) }).meta({ id: 'StatusHistory' });

export interface EventRoutesDeps {
  feed: EventFeed;
  health: HealthStore;
  registry: CameraRegistry;
}

/** Status changes: live as Server-Sent Events with resume, and each camera's recent history. */
export const eventRoutes =
  (deps: EventRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const open = new Set<() => void>();
    app.addHook('onClose', async () => {
      for (const end of open) end();
    });

    app.get(
      '/api/v1/events',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['health'],
          summary: 'Status changes as Server-Sent Events (event: status), resumable with Last-Event-ID',
          querystring: liveQuery,
          response: { 400: errorSchema },
        },
      },
      async (request, reply) => {
        const header = request.headers['last-event-id'];
        const resumeFrom = request.query.since ?? (typeof header === 'string' ? header : undefined);
        if (resumeFrom !== undefined && !STREAM_ID_PATTERN.test(resumeFrom)) {
          throw new Errors.VALIDATION('headers.last-event-id: must be a stream id such as 1700000000000-0');
        }
        await streamEvents(request, reply, deps, open, {
          resumeFrom,
          cameras: new Set(request.query.cameras),
        });
      },
    );

    app.get(
      '/api/v1/cameras/:id/events',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['health'],
          summary: "A camera's recent status changes, newest first",
          params: z.object({ id: cameraIdSchema }),
          querystring: historyQuery,
          response: { 200: historySchema, 404: errorSchema },
        },
      },
      async (request) => {
        if (!(await deps.registry.get(request.params.id)))
          throw new Errors.CAMERA_NOT_FOUND(request.params.id);
        return { items: await deps.health.history(request.params.id, request.query.limit) };
      },
    );
  };

async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: EventRoutesDeps,
  open: Set<() => void>,
  options: { resumeFrom: string | undefined; cameras: Set<string> },
): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  out.write(`retry: ${RECONNECT_HINT_MS}\n\n`);

  let lastSent = options.resumeFrom ?? deps.feed.position;
  const send = (event: StatusEvent) => {
    if (compareStreamIds(event.id, lastSent) <= 0) return;
    lastSent = event.id;
    if (options.cameras.size > 0 && !options.cameras.has(event.cameraId)) return;
    out.write(`id: ${event.id}\nevent: status\ndata: ${JSON.stringify(event)}\n\n`);
  };
  // Live events wait while the client catches up, then go out in order, each once.
  const waiting: StatusEvent[] = [];
  let caughtUp = options.resumeFrom === undefined;
  const onEvent = (event: StatusEvent) => (caughtUp ? send(event) : waiting.push(event));
  deps.feed.on('event', onEvent);
  const keepalive = setInterval(() => out.write(': keepalive\n\n'), KEEPALIVE_MS);
  const end = () => {
    clearInterval(keepalive);
    deps.feed.off('event', onEvent);
    open.delete(end);
    out.end();
  };
  open.add(end);
  request.raw.on('close', end);

  if (options.resumeFrom !== undefined) {
    try {
      for (const event of await deps.health.eventsAfter(options.resumeFrom, CATCH_UP_LIMIT)) send(event);
    } catch (err) {
      request.log.warn({ err }, 'could not replay status events');
    }
    for (const event of waiting.splice(0)) send(event);
    caughtUp = true;
  }
}
