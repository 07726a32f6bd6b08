import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CameraRegistry } from '../../cameras/registry.js';
import { Errors, invalidField } from '../../errors.js';
import {
  type Grid,
  layoutCreateSchema,
  layoutNameSchema,
  layoutReplaceSchema,
  layoutSchema,
  toLayout,
} from '../../layouts/layout.js';
import type { LayoutStore } from '../../layouts/layout-store.js';
import type { AuditLog } from '../../security/audit.js';
import { requester } from '../auth.js';
import { errorSchema } from '../error-schema.js';

export interface LayoutRoutesDeps {
  layouts: LayoutStore;
  registry: CameraRegistry;
  audit: AuditLog;
}

const tags = ['layouts'];
const nameParams = z.object({ name: layoutNameSchema });
const listSchema = z.object({ items: z.array(layoutSchema) }).meta({ id: 'LayoutList' });

/**
 * Named wall layouts: walls read them (viewer), operators arrange them. A layout may only name cameras
 * that exist; one deleted later shows as a tile that says so.
 */
export const layoutRoutes =
  (deps: LayoutRoutesDeps): FastifyPluginAsyncZod =>
  async (app) => {
    const checked = async (name: string, grid: Grid, cameras: ReadonlyArray<string | null>) => {
      const ids = cameras.filter((id): id is string => id !== null);
      const found = await deps.registry.getMany(ids);
      const missing = ids.findIndex((_, i) => found[i] === null);
      if (missing >= 0) {
        const tile = cameras.indexOf(ids[missing] as string);
        throw invalidField(`body.cameras.${tile}`, `camera ${ids[missing]} does not exist`);
      }
      return toLayout(name, grid, cameras);
    };

    app.post(
      '/api/v1/layouts',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Save a new wall layout',
          body: layoutCreateSchema,
          response: { 201: layoutSchema, 400: errorSchema, 409: errorSchema },
        },
      },
      async (request, reply) => {
        const { name, grid, cameras } = request.body;
        const layout = await checked(name, grid, cameras);
        if (!(await deps.layouts.create(layout))) throw new Errors.LAYOUT_EXISTS(name);
        const { principal, from } = requester(request);
        await deps.audit.record(principal, 'layout.create', name, from);
        return reply.code(201).send(layout);
      },
    );

    app.get(
      '/api/v1/layouts',
      {
        config: { access: 'viewer' },
        schema: { tags, summary: 'Every saved layout, by name', response: { 200: listSchema } },
      },
      async () => ({ items: await deps.layouts.list() }),
    );

    app.get(
      '/api/v1/layouts/:name',
      {
        config: { access: 'viewer' },
        schema: {
          tags,
          summary: 'A saved layout',
          params: nameParams,
          response: { 200: layoutSchema, 404: errorSchema },
        },
      },
      async (request) => {
        const layout = await deps.layouts.get(request.params.name);
        if (!layout) throw new Errors.LAYOUT_NOT_FOUND(request.params.name);
        return layout;
      },
    );

    app.put(
      '/api/v1/layouts/:name',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Save a layout under this name, new or replacing the old one',
          params: nameParams,
          body: layoutReplaceSchema,
          response: { 200: layoutSchema, 201: layoutSchema, 400: errorSchema },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const layout = await checked(name, request.body.grid, request.body.cameras);
        const created = await deps.layouts.put(layout);
        const { principal, from } = requester(request);
        await deps.audit.record(principal, created ? 'layout.create' : 'layout.update', name, from);
        return reply.code(created ? 201 : 200).send(layout);
      },
    );

    app.delete(
      '/api/v1/layouts/:name',
      {
        config: { access: 'operator' },
        schema: {
          tags,
          summary: 'Delete a layout',
          params: nameParams,
          response: { 204: z.null(), 404: errorSchema },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        if (!(await deps.layouts.delete(name))) throw new Errors.LAYOUT_NOT_FOUND(name);
        const { principal, from } = requester(request);
        await deps.audit.record(principal, 'layout.delete', name, from);
        return reply.code(204).send(null);
      },
    );
  };
