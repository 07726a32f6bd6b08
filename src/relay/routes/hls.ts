import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Counter, Gauge, type Registry } from 'prom-client';
import { z } from 'zod';
import { cameraIdSchema } from '../../cameras/camera.js';
import { Errors } from '../../errors.js';
import type { PlaylistAnswer } from '../../llhls/live-stream.js';
import { type DeliveryDirective, parseDirective } from '../../llhls/reload.js';
import type { StreamSigner } from '../../security/stream-signer.js';
import { CLASSIC_PLAYLIST, type HlsSource } from '../hls-source.js';
import type { OnDemand } from '../on-demand.js';
import { type SignablePlaylist, signablePlaylist } from '../signed-playlist.js';

/**
 * index.m3u8, classic.m3u8, and the names ingest gives its files (<run>-<n>.ts, <run>-init.mp4,
 * <run>-<msn>.m4s, <run>-<msn>-<part>.m4s). No separators or dots beyond the extension, so no traversal.
 */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}\.(m3u8|ts|m4s|mp4)$/;

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
};

/**
 * A playlist changes every segment; a segment name is never reused (each ffmpeg run has its own prefix).
 * Private: security video has no place in shared caches.
 */
const PLAYLIST_CACHE = 'no-cache, private';
const SEGMENT_CACHE = 'private, max-age=3600, immutable';

const params = z.object({
  cameraId: cameraIdSchema,
  file: z.string().regex(FILE_NAME).describe('index.m3u8, or a segment the playlist names.'),
});
const signature = z.object({
  exp: z.string().max(20).optional(),
  kid: z.string().max(20).optional(),
  sig: z.string().max(100).optional(),
  v: z.string().max(64).optional().describe('Present when the URL is bound to one viewer.'),
  _HLS_msn: z
    .string()
    .max(20)
    .optional()
    .describe('LL-HLS blocking reload: wait for this media sequence number.'),
  _HLS_part: z.string().max(20).optional().describe('LL-HLS blocking reload: and for this part of it.'),
  _HLS_skip: z.string().max(8).optional().describe('LL-HLS delta update: YES skips old segments.'),
});

export interface HlsRoutesDeps {
  source: HlsSource;
  signer: StreamSigner;
  metrics: Registry;
  /** On a relay: starts on-demand cameras and records that they are watched. Workers have none. */
  onDemand?: OnDemand;
}

/**
 * Playlists and segments, served only to a valid signed URL (GET /api/v1/cameras/:id/stream gives one;
 * a relay signs its own requests to a worker the same way).
 */
export const hlsRoutes =
  (deps: HlsRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const served = new Counter({
      name: 'camrelay_hls_requests_total',
      help: 'HLS files served by this process, by kind.',
      labelNames: ['kind'],
      registers: [deps.metrics],
    });
    // Bound once: looking a label set up again on every request is measurable at tens of thousands a second.
    const servedPlaylists = served.labels({ kind: 'playlist' });
    const servedSegments = served.labels({ kind: 'segment' });
    const held = new Gauge({
      name: 'camrelay_hls_blocking_requests',
      help: 'LL-HLS playlist requests held open by this process until their part exists (blocking reload).',
      registers: [deps.metrics],
    });
    const signable = new SignableBodies();
    app.get(
      '/hls/:cameraId/:file',
      {
        config: { access: 'signed' },
        schema: {
          tags: ['streams'],
          summary: "A camera's HLS playlist or segment, with the signature of a stream URL",
          params,
          querystring: signature,
        },
      },
      async (request, reply) => {
        const { cameraId, file } = request.params;
        const verdict = await deps.signer.verify(cameraId, request.query);
        if (!verdict.ok) throw new Errors.STREAM_FORBIDDEN(verdict.reason);
        if (verdict.grant.viewer && request.principal?.tokenId !== verdict.grant.viewer) {
          throw new Errors.STREAM_FORBIDDEN('this URL is bound to another viewer');
        }
        const extension = file.slice(file.lastIndexOf('.') + 1);
        if (extension === 'm3u8') {
          const blocking = request.query._HLS_msn !== undefined;
          if (blocking) held.inc();
          const answer = await playlistFor(deps, cameraId, file, request.query).finally(() => {
            if (blocking) held.dec();
          });
          if (!answer) return reply.callNotFound();
          if (answer.kind === 'bad-request') throw new Errors.HLS_DIRECTIVE_INVALID(answer.reason);
          if (answer.kind === 'unavailable') throw new Errors.HLS_PART_TIMEOUT(answer.reason);
          servedPlaylists.inc();
          return reply
            .header('content-type', CONTENT_TYPES.m3u8)
            .header('cache-control', PLAYLIST_CACHE)
            .send(signable.of(answer.body)(signedPart(request.query)));
        }
        const body = await deps.source.read(cameraId, file);
        if (!body) return reply.callNotFound();
        servedSegments.inc();
        reply.header('content-type', CONTENT_TYPES[extension] ?? 'application/octet-stream');
        return reply.header('cache-control', SEGMENT_CACHE).send(body);
      },
    );
  };

/**
 * The playlist for a request: LL-HLS (index.m3u8) or whole segments (classic.m3u8), held per the delivery
 * directive. An on-demand camera that is not running is started first.
 */
async function playlistFor(
  deps: HlsRoutesDeps,
  cameraId: string,
  file: string,
  query: z.infer<typeof signature>,
): Promise<PlaylistAnswer | null> {
  if (file !== 'index.m3u8' && file !== CLASSIC_PLAYLIST) return null;
  const parsed = parseDirective(query);
  if ('invalid' in parsed) return { kind: 'bad-request', reason: parsed.invalid };
  const lowLatency = file === 'index.m3u8';
  const onDemand = deps.onDemand && (await deps.onDemand.isOnDemand(cameraId)) ? deps.onDemand : null;
  if (onDemand) await onDemand.touch(cameraId);
  const answer = await deps.source.playlist(cameraId, parsed, lowLatency);
  if (answer || !onDemand) return answer;
  return (await onDemand.start(cameraId)) ? deps.source.playlist(cameraId, NO_DIRECTIVE, lowLatency) : null;
}

const NO_DIRECTIVE: DeliveryDirective = { msn: null, part: null, skip: false };

/** Only the signature's own parameters travel on to the segments. */
function signedPart(query: z.infer<typeof signature>): string {
  const kept = new URLSearchParams();
  for (const name of ['exp', 'kid', 'sig', 'v'] as const) {
    const value = query[name];
    if (value !== undefined) kept.set(name, value);
  }
  return kept.toString();
}

/**
 * Each playlist body, split for signing once and then signed for every viewer that asks for it. Sources
 * hand out the same Buffer for as long as a version of the playlist lasts; a weak map forgets it with them.
 */
class SignableBodies {
  private readonly known = new WeakMap<Buffer, SignablePlaylist>();

  of(body: Buffer): SignablePlaylist {
    let signable = this.known.get(body);
    if (!signable) {
      signable = signablePlaylist(body.toString('utf8'));
      this.known.set(body, signable);
    }
    return signable;
  }
}
