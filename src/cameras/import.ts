import { z } from 'zod';
import type { HealthStore } from '../health/store.js';
import { publishUrl } from '../push/publish-url.js';
import type { IngestQueue } from '../workers/ingest-queue.js';
import { type Camera, type CameraDraft, cameraCreateSchema } from './camera.js';
import type { CameraRegistry } from './registry.js';
import { restingStatus, runsAlways } from './service.js';
import type { CameraSources } from './sources.js';

export const importErrorSchema = z.object({
  row: z
    .number()
    .int()
    .describe('1-based position of the camera in the request (CSV: not counting the header).'),
  id: z.string().nullable(),
  field: z.string().nullable(),
  message: z.string(),
});
export const importResultSchema = z
  .object({
    imported: z.number().int().describe('Cameras created.'),
    failed: z.number().int().describe('Rows refused; each has one or more entries in errors.'),
    errors: z.array(importErrorSchema),
    publishUrls: z
      .array(z.object({ row: z.number().int(), id: z.string(), publishUrl: z.string() }))
      .describe('Push cameras created, each with its publish URL and key: shown this once.'),
  })
  .meta({ id: 'ImportResult' });
export type ImportResult = z.output<typeof importResultSchema>;
type ImportError = z.output<typeof importErrorSchema>;

interface Admitted {
  row: number;
  draft: CameraDraft;
  publishKey: string | null;
}

/** URLs checked (sealed, and resolved when CAMERA_NETWORKS asks) at once. */
const ADMIT_CONCURRENCY = 64;

/**
 * Imports many cameras at once: every row is checked as POST /api/v1/cameras would check it; the valid
 * ones are written in pipelines (a city's 62,000 in seconds), the others come back with row, field and
 * reason. One bad row never stops the others.
 */
export class CameraImport {
  constructor(
    private readonly registry: CameraRegistry,
    private readonly health: HealthStore,
    private readonly queue: IngestQueue,
    private readonly sources: CameraSources,
  ) {}

  /** `publishBase`: where publishers reach camrelay, for push cameras' publish URLs. */
  async run(rows: readonly unknown[], publishBase: string): Promise<ImportResult> {
    const errors: ImportError[] = [];
    const valid = this.validate(rows, errors);
    const admitted = await this.admit(valid, errors);
    const created = await this.registry.createMany(admitted.map(({ draft }) => draft));
    const cameras: Camera[] = [];
    const publishUrls: ImportResult['publishUrls'] = [];
    created.forEach((camera, i) => {
      const { row, draft, publishKey } = admitted[i] as Admitted;
      if (camera) {
        cameras.push(camera);
        if (publishKey)
          publishUrls.push({
            row,
            id: camera.id,
            publishUrl: publishUrl(publishBase, camera.id, publishKey),
          });
      } else
        errors.push({ row, id: draft.id ?? null, field: 'id', message: `camera ${draft.id} already exists` });
    });
    await this.health.registerMany(
      cameras.map((camera) => ({ cameraId: camera.id, status: restingStatus(camera) })),
    );
    await this.queue.ensureMany(cameras.filter(runsAlways).map((camera) => camera.id));
    errors.sort((a, b) => a.row - b.row);
    return { imported: cameras.length, failed: new Set(errors.map((e) => e.row)).size, errors, publishUrls };
  }

  private validate(rows: readonly unknown[], errors: ImportError[]) {
    const seen = new Set<string>();
    const valid: Array<{ row: number; input: z.output<typeof cameraCreateSchema> }> = [];
    rows.forEach((raw, index) => {
      const row = index + 1;
      const parsed = cameraCreateSchema.safeParse(raw);
      const id = typeof (raw as { id?: unknown } | null)?.id === 'string' ? (raw as { id: string }).id : null;
      if (!parsed.success) {
        // The first problem of each field: a bad URL fails several checks, one message says it.
        const fields = new Set<string | null>();
        for (const issue of parsed.error.issues) {
          const field =
            issue.code === 'unrecognized_keys' ? issue.keys.join(',') : issue.path.join('.') || null;
          if (fields.has(field)) continue;
          fields.add(field);
          errors.push({ row, id, field, message: issue.message });
        }
        return;
      }
      if (parsed.data.id && seen.has(parsed.data.id)) {
        errors.push({ row, id, field: 'id', message: `id ${parsed.data.id} appears twice in this import` });
        return;
      }
      if (parsed.data.id) seen.add(parsed.data.id);
      valid.push({ row, input: parsed.data });
    });
    return valid;
  }

  private async admit(
    valid: Array<{ row: number; input: z.output<typeof cameraCreateSchema> }>,
    errors: ImportError[],
  ): Promise<Admitted[]> {
    const admitted: Array<Admitted | null> = [];
    for (let i = 0; i < valid.length; i += ADMIT_CONCURRENCY) {
      const batch = valid.slice(i, i + ADMIT_CONCURRENCY);
      admitted.push(
        ...(await Promise.all(
          batch.map(async ({ row, input }) => {
            try {
              const { draft, publishKey } = await this.sources.draft(input, 'url');
              return { row, draft, publishKey };
            } catch (err) {
              const fields = (err as { fields?: Array<{ field: string; message: string }> }).fields;
              errors.push({
                row,
                id: input.id ?? null,
                field: 'url',
                message: fields?.[0]?.message ?? (err as Error).message,
              });
              return null;
            }
          }),
        )),
      );
    }
    return admitted.filter((entry): entry is Admitted => entry !== null);
  }
}
