import { z } from 'zod';
import { parseUrl } from './url.js';

/** Lower-case slug; it names the camera's HLS folder and Redis keys, so it never holds / or dots. */
export const CAMERA_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * Source schemes camrelay can pull from; CAMERA_URL_SCHEMES narrows them per deployment. Anything ffmpeg
 * would read as a local resource (file:, concat:, subfile:, data:, pipe:, …) is never among them.
 */
export const CAMERA_URL_SCHEMES = ['rtsp:', 'rtsps:', 'rtmp:', 'rtmps:', 'srt:', 'http:', 'https:'] as const;

export const cameraIdSchema = z
  .string()
  .regex(CAMERA_ID_PATTERN, { error: 'must match [a-z0-9][a-z0-9_-]{0,63}' })
  .describe('Camera id: a lower-case slug, unique in the deployment.');

export const cameraUrlSchema = z
  .string()
  .max(2048, { error: 'must be at most 2048 characters' })
  // Spaces and control characters have no place in a camera URL, and a leading dash reads as an option.
  .refine(
    (url) =>
      !url.startsWith('-') && ![...url].some((c) => c.charCodeAt(0) <= 0x20 || c.charCodeAt(0) === 0x7f),
    {
      error: 'must not start with - or contain spaces or control characters',
    },
  )
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
export const cameraSourceSchema = z
  .enum(['pull', 'push'])
  .describe(
    'pull: camrelay reads `url`; push: the camera or encoder publishes RTMP(S) to camrelay with a publish key.',
  );
export const rtspTransportSchema = z.enum(['tcp', 'udp']).describe('RTSP transport towards the camera.');

const cameraName = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' });

const cameraTags = z
  .array(
    z
      .string()
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(40, { error: 'must be at most 40 characters' })
      .regex(/^[\p{L}\p{N} _.-]+$/u, { error: 'may hold letters, digits, spaces, _ . and - only' }),
  )
  .max(20, { error: 'at most 20 tags' })
  .describe('Labels operators search by on the wall, e.g. "north", "gate".');

export const cameraCreateSchema = z
  .strictObject({
    id: cameraIdSchema.optional(),
    name: cameraName,
    source: cameraSourceSchema.default('pull'),
    url: cameraUrlSchema
      .optional()
      .describe(
        'Required for pull cameras; left out for push cameras. Source URL, e.g. rtsp://user:password@10.1.2.3:554/stream1. Credentials are never returned.',
      ),
    mode: cameraModeSchema.default('always'),
    transcode: transcodeSchema.default('auto'),
    rtspTransport: rtspTransportSchema.default('tcp'),
    enabled: z.boolean().default(true),
    tags: cameraTags.default([]),
  })
  .superRefine((camera, context) => {
    if (camera.source === 'pull' && camera.url === undefined)
      context.addIssue({ code: 'custom', path: ['url'], message: 'is required for a pull camera' });
    if (camera.source === 'push' && camera.url !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'must be left out for a push camera: it publishes to the publishUrl it is given',
      });
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
    tags: cameraTags.optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { error: 'must change at least one field' });
export type CameraPatch = z.output<typeof cameraPatchSchema>;

/** What the registry stores: the wanted state of one camera. */
export interface Camera {
  id: string;
  name: string;
  /**
   * The source URL sealed with the deployment's secret key (AES-256-GCM): credentials never rest in clear.
   * Push cameras have none.
   */
  sealedUrl?: string;
  /** The source URL with its password masked, for answers and logs. */
  maskedUrl?: string;
  mode: 'always' | 'on-demand';
  transcode: 'auto' | 'copy' | 'h264';
  rtspTransport: 'tcp' | 'udp';
  enabled: boolean;
  /** Absent on cameras stored before push cameras existed: those pull. */
  source?: 'pull' | 'push';
  /** SHA-256 of a push camera's publish key; the key itself is shown once and kept nowhere. */
  publishKeyHash?: string;
  /** Absent on cameras stored before tags existed. */
  tags?: string[];
  createdAt: string;
  updatedAt: string;
  /** Bumped on every change, so a worker can tell a stale copy from the current one. */
  revision: number;
}

export function isPushCamera(camera: Camera): boolean {
  return camera.source === 'push';
}

/** A camera before the registry gives it an id (when absent), timestamps and a revision. */
export type CameraDraft = Omit<Camera, 'id' | 'createdAt' | 'updatedAt' | 'revision'> & {
  id?: string | undefined;
};

export const cameraViewSchema = z
  .object({
    id: cameraIdSchema,
    name: z.string(),
    source: cameraSourceSchema,
    url: z
      .string()
      .nullable()
      .describe('The source URL with its password masked as ***; null for push cameras.'),
    mode: cameraModeSchema,
    transcode: transcodeSchema,
    rtspTransport: rtspTransportSchema,
    enabled: z.boolean(),
    tags: z.array(z.string()),
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
    source: camera.source ?? 'pull',
    url: camera.maskedUrl ?? null,
    mode: camera.mode,
    transcode: camera.transcode,
    rtspTransport: camera.rtspTransport,
    enabled: camera.enabled,
    tags: camera.tags ?? [],
    createdAt: camera.createdAt,
    updatedAt: camera.updatedAt,
  };
}
