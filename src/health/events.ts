import { z } from 'zod';
import { cameraIdSchema } from '../cameras/camera.js';
import { streamFields } from '../redis/stream-fields.js';
import { HEALTH_STATUSES } from './record.js';

/** Statuses are written only by health/scripts.ts, so a stored event always holds one of these. */
export const statusEventSchema = z
  .object({
    id: z.string().describe('Stream id; send it back as Last-Event-ID (or ?since=) to resume.'),
    cameraId: cameraIdSchema,
    from: z.enum(HEALTH_STATUSES).nullable().describe('null for a camera seen for the first time.'),
    to: z.enum(HEALTH_STATUSES),
    reason: z.string().nullable(),
    at: z.string().describe('ISO 8601, from the Redis clock.'),
  })
  .meta({ id: 'StatusEvent' });
export type StatusEvent = z.output<typeof statusEventSchema>;

/** A Redis stream entry: [id, [field, value, field, value, …]]. */
export type StreamEntry = [string, string[]];

export function toStatusEvent([id, flat]: StreamEntry): StatusEvent {
  const fields = streamFields(flat);
  return {
    id,
    cameraId: fields.get('camera') ?? '',
    from: (fields.get('from') || null) as StatusEvent['from'],
    to: fields.get('to') as StatusEvent['to'],
    reason: fields.get('reason') || null,
    at: new Date(Number(fields.get('at'))).toISOString(),
  };
}

/** An entry of a camera's history list, as the health scripts write it. */
export function historyEvent(json: string): StatusEvent {
  const entry = JSON.parse(json) as {
    id: string;
    camera: string;
    from: string;
    to: string;
    reason: string;
    at: number;
  };
  return {
    id: entry.id,
    cameraId: entry.camera,
    from: (entry.from || null) as StatusEvent['from'],
    to: entry.to as StatusEvent['to'],
    reason: entry.reason || null,
    at: new Date(entry.at).toISOString(),
  };
}

/** Stream ids look like 1700000000000-0; anything else would make XRANGE fail. */
export const STREAM_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;
