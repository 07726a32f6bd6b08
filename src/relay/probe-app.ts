import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { createFastify } from './fastify.js';
import { probeRoutes } from './routes/probes.js';

/** The worker role's small HTTP server: liveness and readiness for orchestrators. */
export async function buildProbeApp(deps: { log: Logger; redis: Redis }): Promise<FastifyInstance> {
  const app = createFastify(deps.log.child({ role: 'worker-probes' }));
  await app.register(probeRoutes(deps));
  return app;
}
