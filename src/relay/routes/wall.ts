import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Errors } from '../../errors.js';

/** The built page (scripts/build-web.mjs); it holds no data, so it needs no credential to load. */
const WEB_ROOT = fileURLToPath(new URL('../../../dist/web/', import.meta.url));
const ASSETS: Record<string, string> = {
  'wall.js': 'text/javascript; charset=utf-8',
  'wall.js.map': 'application/json',
  'wall.css': 'text/css; charset=utf-8',
};

async function asset(file: string): Promise<Buffer> {
  try {
    return await readFile(path.join(WEB_ROOT, file));
  } catch {
    throw new Errors.NOT_FOUND();
  }
}

/** GET /wall: the control-room wall. It signs in and reads everything else through the API. */
export const wallRoutes = (): FastifyPluginAsyncZod => async (app) => {
  app.get(
    '/wall',
    {
      config: { access: 'public' },
      schema: { tags: ['wall'], summary: 'The video wall page (?layout=NAME opens a saved layout)' },
    },
    async (_request, reply) =>
      reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(await asset('index.html')),
  );
  app.get(
    '/wall/assets/:file',
    {
      config: { access: 'public' },
      schema: {
        tags: ['wall'],
        summary: "The wall page's script and stylesheet",
        params: z.object({ file: z.enum(Object.keys(ASSETS) as [string, ...string[]]) }),
      },
    },
    async (request, reply) =>
      reply
        .header('content-type', ASSETS[request.params.file] as string)
        .header('cache-control', 'no-cache')
        .send(await asset(request.params.file)),
  );
};
