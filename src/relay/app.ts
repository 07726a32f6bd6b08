import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraService } from '../cameras/service.js';
import type { Config } from '../config/schema.js';
import type { EventFeed } from '../health/event-feed.js';
import type { HealthStore } from '../health/store.js';
import type { Logger } from '../log.js';
import { createFastify } from './fastify.js';
import { cameraRoutes } from './routes/cameras.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { hlsRoutes } from './routes/hls.js';
import { metricsRoutes } from './routes/metrics.js';
import { probeRoutes } from './routes/probes.js';

export interface RelayDeps {
  config: Config;
  log: Logger;
  redis: Redis;
  registry: CameraRegistry;
  cameras: CameraService;
  health: HealthStore;
  feed: EventFeed;
  metrics: Registry;
}

/**
 * The relay as a Fastify instance, not yet listening (tests use inject()). The OpenAPI document at
 * /docs is generated from the same zod schemas that validate requests: there is no second copy.
 */
export async function buildRelayApp(deps: RelayDeps): Promise<FastifyInstance> {
  const app = createFastify(deps.log.child({ role: 'relay' }));

  const origins = deps.config.http.corsOrigins;
  await app.register(cors, {
    origin: origins.includes('*') ? '*' : origins,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'camrelay',
        description: 'Camera registry, health and HLS streams of a camrelay deployment.',
        version: '1',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(cameraRoutes(deps));
  await app.register(healthRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(probeRoutes(deps));
  await app.register(hlsRoutes({ hlsRoot: deps.config.hlsRoot }));
  return app;
}
