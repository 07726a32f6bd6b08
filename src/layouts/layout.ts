import { z } from 'zod';
import { cameraIdSchema } from '../cameras/camera.js';

/** The grids a wall can show: square, so tiles keep the cameras' shape. */
export const GRIDS = [1, 4, 9, 16, 25, 36] as const;
export type Grid = (typeof GRIDS)[number];

export const layoutNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { error: 'must match [a-z0-9][a-z0-9_-]{0,63}' })
  .describe('Layout name: a lower-case slug, used in the wall link /wall?layout=NAME.');

const gridSchema = z
  .union(GRIDS.map((n) => z.literal(n)))
  .describe('Tiles on the wall: 1, 4, 9, 16, 25 or 36.');

/** Tiles in reading order; null leaves a tile empty. Shorter than the grid: the rest are empty. */
const camerasSchema = z.array(cameraIdSchema.nullable()).max(36);

const layoutBody = {
  grid: gridSchema,
  cameras: camerasSchema.describe('Camera per tile, in reading order; null for an empty tile.'),
};

function fitsGrid(layout: { grid: number; cameras: unknown[] }, ctx: z.core.$RefinementCtx): void {
  if (layout.cameras.length > layout.grid) {
    ctx.addIssue({
      code: 'custom',
      path: ['cameras'],
      message: `has ${layout.cameras.length} tiles; the grid has ${layout.grid}`,
    });
  }
}

export const layoutCreateSchema = z
  .strictObject({ name: layoutNameSchema, ...layoutBody })
  .superRefine(fitsGrid)
  .meta({ id: 'LayoutCreate' });
export const layoutReplaceSchema = z
  .strictObject(layoutBody)
  .superRefine(fitsGrid)
  .meta({ id: 'LayoutReplace' });

export const layoutSchema = z
  .object({
    name: layoutNameSchema,
    grid: gridSchema,
    cameras: z.array(cameraIdSchema.nullable()).describe('Exactly one entry per tile.'),
    updatedAt: z.string().describe('When it was last saved (ISO 8601).'),
  })
  .meta({ id: 'Layout' });

export type Layout = z.infer<typeof layoutSchema>;

/** A saved layout has one entry per tile, so a wall never has to guess. */
export function toLayout(name: string, grid: Grid, cameras: ReadonlyArray<string | null>): Layout {
  const tiles = Array.from({ length: grid }, (_, i) => cameras[i] ?? null);
  return { name, grid, cameras: tiles, updatedAt: new Date().toISOString() };
}
