import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { AuthDeps } from './auth.js';
import { createFastify } from './fastify.js';
import { metricsRoutes } from './routes/metrics.js';
import { probeRoutes } from './routes/probes.js';

/** The worker role's small HTTP server: liveness and readiness for orchestrators, and its metrics. */
export async function buildProbeApp(
  deps: AuthDeps & { config: Config; log: Logger; redis: Redis; metrics: Registry },
): Promise<FastifyInstance> {
  const app = await createFastify(
    deps.log.child({ role: 'worker-probes' }),
    { tls: deps.config.tls, trustProxy: deps.config.security.trustProxy },
    deps,
  );
  await app.register(probeRoutes(deps));
  await app.register(metricsRoutes(deps));
  return app;
}
