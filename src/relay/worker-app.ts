import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { StreamSigner } from '../security/stream-signer.js';
import type { AuthDeps } from './auth.js';
import { createFastify } from './fastify.js';
import type { HlsSource } from './hls-source.js';
import { hlsRoutes } from './routes/hls.js';
import { metricsRoutes } from './routes/metrics.js';
import { probeRoutes } from './routes/probes.js';

/**
 * The HTTP server of the worker and push roles: probes for orchestrators, its metrics, and the HLS it writes, for relays
 * on other hosts (signed like any stream URL; relays sign their own requests with the shared keys).
 */
export async function buildWorkerApp(
  deps: AuthDeps & {
    config: Config;
    log: Logger;
    redis: Redis;
    metrics: Registry;
    signer: StreamSigner;
    /** null: a process that writes no HLS (the push role) serves probes and metrics only. */
    source: HlsSource | null;
  },
): Promise<FastifyInstance> {
  const app = await createFastify(
    deps.log.child({ role: 'worker-http' }),
    { tls: deps.config.tls, trustProxy: deps.config.security.trustProxy },
    deps,
  );
  await app.register(probeRoutes(deps));
  await app.register(metricsRoutes(deps));
  const { source } = deps;
  if (source) await app.register(hlsRoutes({ ...deps, source }));
  return app;
}
