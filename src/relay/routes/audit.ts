import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type AuditLog, auditEntrySchema } from '../../security/audit.js';

/** The audit log, for admins. */
export const auditRoutes =
  (deps: { audit: AuditLog }): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/api/v1/audit',
      {
        config: { access: 'admin' },
        schema: {
          tags: ['access'],
          summary: 'Admin actions and stream starts, newest first',
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            before: z
              .string()
              .regex(/^\d{1,20}-\d{1,20}$/)
              .optional()
              .describe('id of the last entry of the previous page'),
          }),
          response: { 200: z.object({ items: z.array(auditEntrySchema) }) },
        },
      },
      async (request) => ({ items: await deps.audit.list(request.query.limit, request.query.before) }),
    );
  };
