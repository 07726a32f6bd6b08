import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { withTimeout } from '../../with-timeout.js';

const PING_TIMEOUT_MS = 1000;
const tags = ['probes'];

/** Liveness and readiness, without credentials, for load balancers and orchestrators. */
export const probeRoutes =
  (deps: { redis: Redis }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/healthz',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'The process is up',
          response: { 200: z.object({ status: z.literal('ok') }) },
        },
      },
      async () => ({ status: 'ok' as const }),
    );

    app.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: {
          tags,
          summary: 'Redis answers',
          response: {
            200: z.object({ status: z.literal('ready') }),
            503: z.object({ status: z.literal('unavailable'), reason: z.string() }),
          },
        },
      },
      async (_request, reply) => {
        try {
          await withTimeout(deps.redis.ping(), PING_TIMEOUT_MS);
          return reply.send({ status: 'ready' as const });
        } catch (err) {
          return reply
            .code(503)
            .send({ status: 'unavailable' as const, reason: `redis: ${(err as Error).message}` });
        }
      },
    );
  };
