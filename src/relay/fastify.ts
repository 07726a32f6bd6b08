import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../log.js';
import { errorHandler, notFoundHandler } from './error-handler.js';

/** API bodies are small JSON; anything bigger is a mistake or an attack. */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * A Fastify instance as every camrelay server wants it: our logger (no line per request: a wall makes
 * several a second per camera), zod validation and serialization, one error shape.
 */
export function createFastify(log: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  return app;
}
