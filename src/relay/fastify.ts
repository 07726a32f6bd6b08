import { readFileSync } from 'node:fs';
import cookie from '@fastify/cookie';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../log.js';
import { type AuthDeps, authPlugin } from './auth.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { registerSecurityHeaders } from './security-headers.js';

/** API bodies are small JSON; anything bigger is a mistake or an attack. */
const BODY_LIMIT_BYTES = 64 * 1024;

export interface ServerOptions {
  tls: { certFile: string; keyFile: string; http2: boolean } | null;
  trustProxy: boolean;
}

type CommonOptions = Pick<
  FastifyServerOptions,
  'loggerInstance' | 'logController' | 'bodyLimit' | 'return503OnClosing' | 'trustProxy'
>;

/** HTTP/2 with HTTP/1.1 for clients without it, HTTPS alone (HTTP2=off), or plain HTTP without TLS. */
function serverFor(common: CommonOptions, tls: ServerOptions['tls']): FastifyInstance {
  if (!tls) return Fastify(common) as unknown as FastifyInstance;
  const keyPair = { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) };
  const server = tls.http2
    ? Fastify({ ...common, http2: true, https: { allowHTTP1: true, ...keyPair } })
    : Fastify({ ...common, https: keyPair });
  return server as unknown as FastifyInstance;
}

/**
 * A Fastify instance as every camrelay server wants it: our logger (no line per request: a wall makes
 * several a second per camera), zod validation and serialization, one error shape, security headers,
 * cookies, and authentication on every route. With TLS it speaks HTTPS and HTTP/2 (with HTTP/1.1 for
 * clients without it): a wall of many cameras is not held to the browser's six connections per host.
 */
export async function createFastify(
  log: Logger,
  options: ServerOptions,
  auth: AuthDeps,
): Promise<FastifyInstance> {
  const common: CommonOptions = {
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    trustProxy: options.trustProxy,
  };
  const app = serverFor(common, options.tls);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  await registerSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        // hls.js plays through Media Source Extensions (blob: URLs) and may run a worker from a blob.
        mediaSrc: ["'self'", 'blob:'],
        workerSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        // Only with TLS: on plain HTTP it would send the wall's requests to an https:// that is not there.
        upgradeInsecureRequests: options.tls ? [] : null,
      },
    },
    frameguard: { action: 'deny' },
    hsts: options.tls ? { maxAge: 31_536_000 } : false,
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  await app.register(cookie);
  await app.register(authPlugin, auth);
  return app;
}
