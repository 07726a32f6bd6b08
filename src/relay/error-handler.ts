import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { Errors } from '../errors.js';
import type { ErrorBody } from './error-schema.js';

type FieldError = NonNullable<ErrorBody['fields']>[number];

function body(statusCode: number, code: string, message: string, fields?: FieldError[]): ErrorBody {
  return {
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(fields ? { fields } : {}),
  };
}

function validationFields(err: FastifyError): FieldError[] {
  const context = (err as FastifyError & { validationContext?: string }).validationContext ?? 'body';
  return (err.validation ?? []).map((issue) => {
    const path = issue.instancePath.split('/').filter(Boolean);
    const unknownKeys = (issue.params as { keys?: unknown }).keys;
    if (issue.keyword === 'unrecognized_keys' && Array.isArray(unknownKeys)) path.push(unknownKeys.join(','));
    return { field: [context, ...path].join('.'), message: issue.message ?? 'is invalid' };
  });
}

function isRedisDown(err: Error): boolean {
  return /max retries per request|Connection is closed|ECONNREFUSED|ENOENT|Stream isn't writeable/i.test(
    err.message,
  );
}

/**
 * Every error leaves as one shape with a code. Validation names the field; a bad id in a path is a 404,
 * since no such resource can exist; anything unexpected is logged and answered without details.
 */
export function errorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const fields = validationFields(err);
    if (err.validationContext === 'params') {
      return reply.code(404).send(body(404, new Errors.NOT_FOUND().code, 'not found'));
    }
    const message = fields.map((f) => `${f.field}: ${f.message}`).join('; ');
    return reply.code(400).send(body(400, new Errors.VALIDATION(message).code, message, fields));
  }
  // Ours: a client's mistake, or a 503 that says what is missing; other 5xx are bugs and say nothing.
  if (
    err.code?.startsWith('CAMRELAY_ERR_') &&
    err.statusCode &&
    (err.statusCode < 500 || err.statusCode === 503)
  ) {
    const fields = (err as FastifyError & { fields?: FieldError[] }).fields;
    return reply.code(err.statusCode).send(body(err.statusCode, err.code, err.message, fields));
  }
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's and its plugins' client errors: bad JSON, body too large, wrong content type.
    return reply
      .code(err.statusCode)
      .send(body(err.statusCode, err.code ?? 'CAMRELAY_ERR_BAD_REQUEST', err.message));
  }
  if (isRedisDown(err)) {
    request.log.warn({ err }, 'redis unavailable');
    const unavailable = new Errors.REDIS_UNAVAILABLE('try again shortly');
    return reply.code(503).send(body(503, unavailable.code, unavailable.message));
  }
  request.log.error({ err }, 'request failed');
  return reply.code(500).send(body(500, 'CAMRELAY_ERR_INTERNAL', 'internal error'));
}

export function notFoundHandler(_request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send(body(404, new Errors.NOT_FOUND().code, 'not found'));
}
