import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cameraIdSchema } from '../../cameras/camera.js';

/** Names ffmpeg writes: index.m3u8 and <run>-<n>.ts. No separators or dots beyond the extension, so no traversal. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.(m3u8|ts|m4s|mp4)$/;

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
};

/** A playlist changes every segment; a segment name is never reused (each ffmpeg run has its own prefix). */
const PLAYLIST_CACHE = 'no-cache';
const SEGMENT_CACHE = 'public, max-age=3600, immutable';

const params = z.object({
  cameraId: cameraIdSchema,
  file: z.string().regex(FILE_NAME).describe('index.m3u8, or a segment the playlist names.'),
});

export const hlsRoutes =
  (deps: { hlsRoot: string }): FastifyPluginAsyncZod =>
  async (app) => {
    const root = path.resolve(deps.hlsRoot);
    app.get(
      '/hls/:cameraId/:file',
      { schema: { tags: ['streams'], summary: "A camera's HLS playlist or segment", params } },
      async (request, reply) => {
        const { cameraId, file } = request.params;
        const target = path.join(root, cameraId, file);
        if (!target.startsWith(root + path.sep)) return reply.callNotFound();
        let data: Buffer;
        try {
          data = await readFile(target);
        } catch {
          return reply.callNotFound();
        }
        const extension = file.slice(file.lastIndexOf('.') + 1);
        return reply
          .header('content-type', CONTENT_TYPES[extension] ?? 'application/octet-stream')
          .header('cache-control', extension === 'm3u8' ? PLAYLIST_CACHE : SEGMENT_CACHE)
          .send(data);
      },
    );
  };
