import { z } from 'zod';
import { cameraIdSchema } from '../cameras/camera.js';

export const HEALTH_STATUSES = [
  'starting',
  'online',
  'offline',
  'stalled',
  'auth_failed',
  'unsupported',
  'disabled',
  'idle',
] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/** The fields a worker reports for a camera it ingests; null clears a field. */
export interface HealthReport {
  status: Exclude<HealthStatus, 'disabled' | 'idle'>;
  /**
   * How many status changes the reporting session had made when the report was taken. A report older than
   * the last one written (a periodic report sent before, arriving after, a status change) is dropped, so a
   * stale "online" never overwrites a newer "stalled". Absent: always written.
   */
  statusSeq?: number;
  lastError?: string | null;
  lastSegmentAtMs?: number | null;
  fps?: number | null;
  bitrateKbps?: number | null;
  videoCodec?: string | null;
  width?: number | null;
  height?: number | null;
  /** 'none' when the camera sends no audio; null when not known yet. */
  audioCodec?: string | null;
  audioSampleRateHz?: number | null;
  videoMode?: 'copy' | 'transcode' | null;
  audioMode?: 'copy' | 'transcode' | 'none' | null;
}

export const healthViewSchema = z
  .object({
    cameraId: cameraIdSchema,
    status: z.enum(HEALTH_STATUSES),
    since: z.string().describe('When the camera entered this status (ISO 8601).'),
    workerId: z.string().nullable().describe('The worker ingesting the camera, if any.'),
    leaseExpiresAt: z
      .string()
      .nullable()
      .describe(
        'When the owning worker must renew its hold on the camera; past it, the camera reads offline.',
      ),
    lastSegmentAt: z.string().nullable(),
    segmentAgeMs: z.number().nullable().describe('Age of the newest segment when this answer was made.'),
    fps: z.number().nullable().describe('Frames per second over the last few seconds.'),
    bitrateKbps: z.number().nullable().describe('From the sizes of the segments actually written.'),
    videoCodec: z.string().nullable().describe('Codec the camera sends.'),
    width: z.number().nullable(),
    height: z.number().nullable(),
    audioCodec: z.string().nullable().describe('Codec the camera sends; null when it sends no audio.'),
    videoMode: z
      .enum(['copy', 'transcode'])
      .nullable()
      .describe('copy: remuxed; transcode: re-encoded to H.264.'),
    audioMode: z.enum(['copy', 'transcode', 'none']).nullable(),
    restarts: z.number().int().describe('ffmpeg restarts since the camera was registered.'),
    lastError: z.string().nullable().describe('Why the camera is not online, credentials masked.'),
  })
  .meta({ id: 'CameraHealth' });
export type HealthView = z.output<typeof healthViewSchema>;

const isoOrNull = (ms: string | undefined) => (ms ? new Date(Number(ms)).toISOString() : null);
const numOrNull = (value: string | undefined) => (value === undefined || value === '' ? null : Number(value));
const strOrNull = (value: string | undefined) => (value === undefined || value === '' ? null : value);

/** Statuses in which a worker holds the camera, and must keep renewing its lease. */
const OWNED = new Set<HealthStatus>(['starting', 'online', 'stalled', 'auth_failed', 'unsupported']);

/**
 * Reads a stored hash as the API shows it. A camera whose worker let its lease run out reads offline,
 * never online, even before the sweep makes it so in Redis.
 */
export function toHealthView(
  cameraId: string,
  fields: Record<string, string>,
  deadlineMs: number | null,
  nowMs: number,
): HealthView {
  let status = (fields.status ?? 'offline') as HealthStatus;
  let lastError = strOrNull(fields.lastError);
  let since = isoOrNull(fields.sinceMs) ?? new Date(nowMs).toISOString();
  const worker = strOrNull(fields.workerId);
  if (OWNED.has(status) && (deadlineMs === null || deadlineMs <= nowMs)) {
    status = 'offline';
    lastError = worker ? `worker ${worker} stopped renewing its lease` : 'no worker has taken this camera';
    since = new Date(deadlineMs ?? nowMs).toISOString();
  }
  const lastSegmentAtMs = numOrNull(fields.lastSegmentAtMs);
  const online = status === 'online';
  const audioCodec = strOrNull(fields.audioCodec);
  return {
    cameraId,
    status,
    since,
    workerId: status === 'offline' ? null : worker,
    leaseExpiresAt: worker && deadlineMs !== null ? new Date(deadlineMs).toISOString() : null,
    lastSegmentAt: isoOrNull(fields.lastSegmentAtMs),
    segmentAgeMs: lastSegmentAtMs === null ? null : Math.max(0, nowMs - lastSegmentAtMs),
    fps: online ? numOrNull(fields.fps) : null,
    bitrateKbps: online ? numOrNull(fields.bitrateKbps) : null,
    videoCodec: strOrNull(fields.videoCodec),
    width: numOrNull(fields.width),
    height: numOrNull(fields.height),
    audioCodec: audioCodec === 'none' ? null : audioCodec,
    videoMode: strOrNull(fields.videoMode) as HealthView['videoMode'],
    audioMode: strOrNull(fields.audioMode) as HealthView['audioMode'],
    restarts: Number(fields.restarts ?? 0),
    lastError,
  };
}

/** A report as hash field/value pairs; null becomes '' (cleared). */
export function reportFields(report: HealthReport): string[] {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(report)) {
    if (key === 'status' || key === 'statusSeq' || value === undefined) continue;
    pairs.push(key, value === null ? '' : String(value));
  }
  return pairs;
}
