import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type CameraImport, importResultSchema } from '../../cameras/import.js';
import { importRows } from '../../cameras/import-rows.js';
import { invalidField } from '../../errors.js';
import type { AuditLog } from '../../security/audit.js';
import { requester } from '../auth.js';
import { errorSchema } from '../error-schema.js';

/** A city's cameras in one request: about 100 bytes a camera. */
const IMPORT_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export const cameraImportRoutes =
  (deps: {
    importer: CameraImport;
    audit: AuditLog;
    publishBase(requestHostname: string): string;
  }): FastifyPluginAsyncZod =>
  async (app) => {
    app.addContentTypeParser(
      'text/csv',
      { parseAs: 'string', bodyLimit: IMPORT_BODY_LIMIT_BYTES },
      (_req, body, done) => done(null, body),
    );
    app.post(
      '/api/v1/cameras/import',
      {
        config: { access: 'admin' },
        bodyLimit: IMPORT_BODY_LIMIT_BYTES,
        schema: {
          tags: ['cameras'],
          summary: 'Import many cameras: a JSON array (or { cameras }) or text/csv with a header line',
          description:
            'Every row is checked like POST /api/v1/cameras. Valid rows are imported, the others are listed ' +
            'with their row, field and reason. Push cameras come back in publishUrls with their keys, shown this once. CSV columns: id, name, source, url, mode, transcode, rtspTransport, enabled, tags (separated by ;).',
          body: z.union([z.array(z.unknown()), z.object({ cameras: z.array(z.unknown()) }), z.string()]),
          response: { 200: importResultSchema, 400: errorSchema },
        },
      },
      async (request, reply) => {
        const { principal, from } = requester(request);
        const rows = importRows(request.body);
        if (!Array.isArray(rows)) throw invalidField('body', rows.error);
        const result = await deps.importer.run(rows, deps.publishBase(request.hostname));
        await deps.audit.record(
          principal,
          'camera.import',
          `${rows.length} rows`,
          from,
          `${result.imported} imported, ${result.failed} refused`,
        );
        return reply.header('cache-control', 'no-store').send(result);
      },
    );
  };
