import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { CameraImport } from '../cameras/import.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraService } from '../cameras/service.js';
import type { Config } from '../config/schema.js';
import { Errors } from '../errors.js';
import type { EventFeed } from '../health/event-feed.js';
import type { HealthStore } from '../health/store.js';
import type { LayoutStore } from '../layouts/layout-store.js';
import type { Logger } from '../log.js';
import { publishBase } from '../push/publish-url.js';
import type { AuditLog } from '../security/audit.js';
import type { SessionStore } from '../security/sessions.js';
import type { StreamSigner } from '../security/stream-signer.js';
import type { TokenStore } from '../security/tokens.js';
import type { LapseSweeper } from '../workers/lapse-sweeper.js';
import { createFastify } from './fastify.js';
import type { HlsSource } from './hls-source.js';
import type { OnDemand } from './on-demand.js';
import { accessRoutes } from './routes/access.js';
import { auditRoutes } from './routes/audit.js';
import { cameraImportRoutes } from './routes/camera-import.js';
import { cameraRoutes } from './routes/cameras.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { hlsRoutes } from './routes/hls.js';
import { layoutRoutes } from './routes/layouts.js';
import { metricsRoutes } from './routes/metrics.js';
import { probeRoutes } from './routes/probes.js';
import { wallRoutes } from './routes/wall.js';
import type { Snapshots } from './snapshots.js';

export interface RelayDeps {
  config: Config;
  log: Logger;
  redis: Redis;
  registry: CameraRegistry;
  cameras: CameraService;
  health: HealthStore;
  feed: EventFeed;
  metrics: Registry;
  source: HlsSource;
  onDemand: OnDemand;
  tokens: TokenStore;
  sessions: SessionStore;
  signer: StreamSigner;
  audit: AuditLog;
  importer: CameraImport;
  sweeper: LapseSweeper;
  layouts: LayoutStore;
  snapshots: Snapshots;
  /** The RTMP port in publish URLs: RTMP_PORT, or the one this process's RTMP server bound. */
  rtmpPort: number;
}

/**
 * The relay as a Fastify instance, not yet listening (tests use inject()). The OpenAPI document at
 * /docs is generated from the same zod schemas that validate requests: there is no second copy.
 */
export async function buildRelayApp(deps: RelayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const { security } = config;
  const app = await createFastify(
    deps.log.child({ role: 'relay' }),
    { tls: config.tls, trustProxy: security.trustProxy },
    deps,
  );
  await app.register(cors, {
    origin: config.http.corsOrigins,
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'last-event-id'],
  });
  await app.register(rateLimit, {
    max: security.rateLimitPerMin,
    timeWindow: 60_000,
    redis: deps.redis,
    nameSpace: `${config.redis.prefix}:rate-limit:`,
    // After authentication, so callers are counted by token; a wall's many stream requests are not counted.
    hook: 'preHandler',
    keyGenerator: (request) => request.principal?.tokenId ?? request.ip,
    allowList: (request) =>
      request.url.startsWith('/hls/') || request.url === '/healthz' || request.url === '/readyz',
    errorResponseBuilder: (_request, context) => new Errors.RATE_LIMITED(context.after),
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'camrelay',
        description:
          'Camera registry, health and HLS streams of a camrelay deployment. Authenticate with ' +
          '"Authorization: Bearer <token>", or sign in with POST /api/v1/session for a session cookie.',
        version: '1',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

  await app.register(accessRoutes({ ...deps, ...sessionSettings(config) }));
  const publishBaseFor = (hostname: string) => publishBase(config.push.publicUrl, hostname, deps.rtmpPort);
  await app.register(
    cameraRoutes({ ...deps, streamUrlTtlSec: security.streamUrlTtlSec, publishBase: publishBaseFor }),
  );
  await app.register(cameraImportRoutes({ ...deps, publishBase: publishBaseFor }));
  await app.register(healthRoutes(deps));
  await app.register(eventRoutes(deps));
  await app.register(auditRoutes(deps));
  await app.register(layoutRoutes(deps));
  await app.register(wallRoutes());
  await app.register(metricsRoutes(deps));
  await app.register(probeRoutes(deps));
  await app.register(hlsRoutes(deps));
  return app;
}

function sessionSettings(config: Config) {
  return {
    sessionTtlSec: config.security.sessionTtlSec,
    authRateLimitPerMin: config.security.authRateLimitPerMin,
    secureCookies: config.tls !== null,
  };
}
