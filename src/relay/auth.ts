import type {} from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Errors } from '../errors.js';
import { type Access, type Principal, roleAllows } from '../security/roles.js';
import { SESSION_COOKIE, type SessionStore } from '../security/sessions.js';
import type { TokenStore } from '../security/tokens.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Every route declares it; a route that does not stops the server at start. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The authenticated caller, or null. */
    principal: Principal | null;
  }
}

export interface AuthDeps {
  tokens: TokenStore;
  sessions: SessionStore;
}

/**
 * Authentication and roles for every route: a bearer token, or the session cookie the wall signs in for.
 * Missing or invalid credential: 401; a role too low: 403. Routes say what they need in `config.access`;
 * the API docs need a viewer, CORS preflights pass, and any other route that says nothing is refused at
 * start-up (fail closed).
 */
export const authPlugin = fp<AuthDeps>(async (app, deps) => {
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    const config = route.config;
    if (config.access) return;
    // CORS preflights carry no credentials by design; the request they precede is checked.
    if (route.method === 'OPTIONS') config.access = 'public';
    else if (route.url.startsWith('/docs')) config.access = 'viewer';
    else throw new Error(`route ${route.method} ${route.url} declares no access`);
  });
  app.addHook('onRequest', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access || access === 'public') return;
    // Signed stream URLs are checked by their route; a viewer-bound one also needs its viewer.
    if (access === 'signed' && !(request.query as { v?: string }).v) return;
    request.principal = await authenticate(request, deps);
    if (access === 'signed') return;
    if (!request.principal) throw new Errors.UNAUTHENTICATED();
    if (!roleAllows(request.principal.role, access))
      throw new Errors.FORBIDDEN(request.principal.role, access);
  });
});

async function authenticate(request: FastifyRequest, deps: AuthDeps): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const record = match?.[1] ? await deps.tokens.verify(match[1]) : null;
    return record ? { tokenId: record.id, name: record.name, role: record.role, via: 'bearer' } : null;
  }
  const sessionId = request.cookies[SESSION_COOKIE];
  return sessionId ? deps.sessions.get(sessionId) : null;
}

/** Who and from where, for the audit log. */
export function requester(request: FastifyRequest): { principal: Principal; from: string } {
  if (!request.principal) throw new Errors.UNAUTHENTICATED();
  return { principal: request.principal, from: request.ip };
}
