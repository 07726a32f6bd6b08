import { z } from 'zod';
import { maskUrl, parseUrl } from './url.js';

/** Lower-case slug; it names the camera's HLS folder and Redis keys, so it never holds / or dots. */
export const CAMERA_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Source schemes ffmpeg pulls from. Push sources (RTMP publish) arrive through their own route. */
export const CAMERA_URL_SCHEMES = ['rtsp:', 'rtsps:', 'rtmp:', 'rtmps:'] as const;

export const cameraIdSchema = z
  .string()
  .regex(CAMERA_ID_PATTERN, { error: 'must match [a-z0-9][a-z0-9_-]{0,63}' })
  .describe('Camera id: a lower-case slug, unique in the deployment.');

export const cameraUrlSchema = z
  .string()
  .max(2048, { error: 'must be at most 2048 characters' })
  .refine((url) => parseUrl(url) !== null, { error: 'is not a valid URL' })
  .refine((url) => (CAMERA_URL_SCHEMES as readonly string[]).includes(parseUrl(url)?.protocol ?? ''), {
    error: `scheme must be one of ${CAMERA_URL_SCHEMES.map((s) => s.slice(0, -1)).join(', ')}`,
  })
  .refine((url) => Boolean(parseUrl(url)?.hostname), { error: 'must name a host' })
  .describe('Source URL, e.g. rtsp://user:password@10.1.2.3:554/stream1. Credentials are never returned.');

export const cameraModeSchema = z
  .enum(['always', 'on-demand'])
  .describe('always: ingest all the time; on-demand: only while someone watches.');
export const transcodeSchema = z
  .enum(['auto', 'copy', 'h264'])
  .describe('auto: copy H.264, transcode anything else to H.264; copy/h264 force the choice.');
export const rtspTransportSchema = z.enum(['tcp', 'udp']).describe('RTSP transport towards the camera.');

const cameraName = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' });

export const cameraCreateSchema = z.strictObject({
  id: cameraIdSchema.optional(),
  name: cameraName,
  url: cameraUrlSchema,
  mode: cameraModeSchema.default('always'),
  transcode: transcodeSchema.default('auto'),
  rtspTransport: rtspTransportSchema.default('tcp'),
  enabled: z.boolean().default(true),
});
export type CameraCreate = z.output<typeof cameraCreateSchema>;

export const cameraPatchSchema = z
  .strictObject({
    name: cameraName.optional(),
    url: cameraUrlSchema.optional(),
    mode: cameraModeSchema.optional(),
    transcode: transcodeSchema.optional(),
    rtspTransport: rtspTransportSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: 'must change at least one field' });
export type CameraPatch = z.output<typeof cameraPatchSchema>;

/** What the registry stores: the wanted state of one camera. */
export interface Camera {
  id: string;
  name: string;
  url: string;
  mode: 'always' | 'on-demand';
  transcode: 'auto' | 'copy' | 'h264';
  rtspTransport: 'tcp' | 'udp';
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Bumped on every change, so a worker can tell a stale copy from the current one. */
  revision: number;
}

/** The fields whose change restarts ingest; the others (name, mode) do not touch a running ffmpeg. */
export const INGEST_FIELDS = [
  'url',
  'transcode',
  'rtspTransport',
] as const satisfies readonly (keyof Camera)[];

export const cameraViewSchema = z
  .object({
    id: cameraIdSchema,
    name: z.string(),
    url: z.string().describe('The source URL with its password masked as ***.'),
    mode: cameraModeSchema,
    transcode: transcodeSchema,
    rtspTransport: rtspTransportSchema,
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Camera' });
export type CameraView = z.output<typeof cameraViewSchema>;

/** The only way a camera leaves the server: with its credentials masked. */
export function toCameraView(camera: Camera): CameraView {
  return {
    id: camera.id,
    name: camera.name,
    url: maskUrl(camera.url),
    mode: camera.mode,
    transcode: camera.transcode,
    rtspTransport: camera.rtspTransport,
    enabled: camera.enabled,
    createdAt: camera.createdAt,
    updatedAt: camera.updatedAt,
  };
}
