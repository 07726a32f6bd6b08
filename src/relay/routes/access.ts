import type {} from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Errors } from '../../errors.js';
import type { AuditLog } from '../../security/audit.js';
import { roleSchema } from '../../security/roles.js';
import { SESSION_COOKIE, type SessionStore } from '../../security/sessions.js';
import { type TokenStore, tokenRecordSchema } from '../../security/tokens.js';
import { requester } from '../auth.js';
import { errorSchema } from '../error-schema.js';

export interface AccessRoutesDeps {
  tokens: TokenStore;
  sessions: SessionStore;
  audit: AuditLog;
  sessionTtlSec: number;
  authRateLimitPerMin: number;
  secureCookies: boolean;
}

const whoSchema = z
  .object({ name: z.string(), role: roleSchema, tokenId: z.string(), via: z.enum(['bearer', 'session']) })
  .meta({ id: 'Principal' });
const tokenCreateSchema = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .describe('Who or what holds the token, e.g. "wall-3" or "ops: Ana".'),
  role: roleSchema,
  ttlSec: z
    .number()
    .int()
    .min(60)
    .max(366 * 86_400)
    .optional()
    .describe('Lifetime; none: until revoked.'),
});
const createdTokenSchema = tokenRecordSchema
  .extend({ token: z.string().describe('Shown this once; only its hash is kept.') })
  .meta({ id: 'CreatedToken' });

/** Signing in (session cookie for the wall) and API tokens. */
export const accessRoutes =
  (deps: AccessRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/api/v1/session',
      {
        config: {
          access: 'public',
          rateLimit: {
            max: deps.authRateLimitPerMin,
            timeWindow: 60_000,
            keyGenerator: (request: FastifyRequest) => request.ip,
          },
        },
        schema: {
          tags: ['access'],
          summary: 'Sign in with a token: sets an HttpOnly, SameSite=Strict session cookie',
          body: z.strictObject({ token: z.string().min(1).max(512) }),
          response: { 200: whoSchema.extend({ expiresAt: z.string() }), 400: errorSchema, 401: errorSchema },
        },
      },
      async (request, reply) => {
        const record = await deps.tokens.verify(request.body.token);
        if (!record) throw new Errors.UNAUTHENTICATED();
        const sessionId = await deps.sessions.create({
          tokenId: record.id,
          name: record.name,
          role: record.role,
        });
        reply.setCookie(SESSION_COOKIE, sessionId, {
          httpOnly: true,
          sameSite: 'strict',
          secure: deps.secureCookies,
          path: '/',
          maxAge: deps.sessionTtlSec,
        });
        const expiresAt = new Date(Date.now() + deps.sessionTtlSec * 1000).toISOString();
        return {
          name: record.name,
          role: record.role,
          tokenId: record.id,
          via: 'session' as const,
          expiresAt,
        };
      },
    );

    app.get(
      '/api/v1/session',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['access'],
          summary: 'Who is signed in',
          response: { 200: whoSchema, 401: errorSchema },
        },
      },
      async (request) => requester(request).principal,
    );

    app.delete(
      '/api/v1/session',
      {
        config: { access: 'public' },
        schema: { tags: ['access'], summary: 'Sign out', response: { 204: z.null() } },
      },
      async (request, reply) => {
        const sessionId = request.cookies[SESSION_COOKIE];
        if (sessionId) await deps.sessions.delete(sessionId);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/api/v1/tokens',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['access'],
          summary: 'Create an API token (the token is in this answer only)',
          body: tokenCreateSchema,
          response: { 201: createdTokenSchema, 400: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        const { token, record } = await deps.tokens.create(request.body, principal.name);
        await deps.audit.record(
          principal,
          'token.create',
          record.id,
          from,
          `${record.name} (${record.role})`,
        );
        return reply.code(201).send({ ...record, token });
      },
    );

    app.get(
      '/api/v1/tokens',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['access'],
          summary: 'List API tokens (never the tokens themselves)',
          response: { 200: z.object({ items: z.array(tokenRecordSchema) }) },
        },
      },
      async () => ({ items: await deps.tokens.list() }),
    );

    app.delete(
      '/api/v1/tokens/:id',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['access'],
          summary: 'Revoke a token, and every session signed in with it',
          params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/) }),
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        const record = await deps.tokens.revoke(request.params.id);
        if (!record) throw new Errors.TOKEN_NOT_FOUND(request.params.id);
        await deps.audit.record(
          principal,
          'token.revoke',
          record.id,
          from,
          `${record.name} (${record.role})`,
        );
        return reply.code(204).send(null);
      },
    );
  };
