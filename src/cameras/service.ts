import { Errors, invalidField } from '../errors.js';
import type { HealthStore } from '../health/store.js';
import type { IngestQueue } from '../workers/ingest-queue.js';
import type { Camera, CameraCreate, CameraPatch } from './camera.js';
import type { CameraRegistry } from './registry.js';
import { type CameraSources, newPublishKey } from './sources.js';

/**
 * What the API does to a camera, across the places that know of it: the registry (wanted state), the
 * health record (actual state) and the start commands. Running workers learn of every change from the
 * registry's change channel.
 */
export class CameraService {
  constructor(
    private readonly registry: CameraRegistry,
    private readonly health: HealthStore,
    private readonly queue: IngestQueue,
    private readonly sources: CameraSources,
  ) {}

  /** Creates a camera; a push camera comes with its publish key, which is shown once and kept nowhere. */
  async create(input: CameraCreate): Promise<{ camera: Camera; publishKey: string | null }> {
    const { draft, publishKey } = await this.sources.draft(input);
    const camera = await this.registry.create(draft);
    await this.health.register(camera.id, restingStatus(camera));
    if (runsAlways(camera)) await this.queue.ensure(camera.id);
    return { camera, publishKey };
  }

  async update(id: string, patch: CameraPatch): Promise<Camera> {
    const { url, ...rest } = patch;
    if (url !== undefined && (await this.registry.get(id))?.source === 'push')
      throw invalidField('body.url', `camera ${id} is a push camera: it has no source URL to change`);
    const sealed = url === undefined ? {} : await this.sources.admit(url);
    const { before, after } = await this.registry.update(id, { ...rest, ...sealed });
    // A camera a worker runs keeps its record; that worker follows the change from the registry.
    if (before.enabled !== after.enabled) await this.health.register(id, restingStatus(after));
    if (!after.enabled) await this.queue.removeWaiting(id);
    if (runsAlways(after) && !runsAlways(before)) await this.queue.ensure(id);
    return after;
  }

  /**
   * Gives a push camera a new publish key, returned once. The old key stops working at once, and a publisher
   * using it is disconnected by its push server.
   */
  async renewPublishKey(id: string): Promise<{ camera: Camera; publishKey: string }> {
    const current = await this.registry.get(id);
    if (!current) throw new Errors.CAMERA_NOT_FOUND(id);
    if (current.source !== 'push') throw new Errors.CAMERA_NOT_PUSH(id);
    const { key, hash } = newPublishKey();
    const { after } = await this.registry.update(id, { publishKeyHash: hash });
    return { camera: after, publishKey: key };
  }

  async delete(id: string): Promise<boolean> {
    if (!(await this.registry.delete(id))) return false;
    await this.queue.removeWaiting(id);
    await this.health.remove(id);
    return true;
  }
}

/** Cameras a worker should be running whether anyone watches or not. */
export function runsAlways(camera: Camera): boolean {
  return camera.enabled && camera.mode === 'always';
}

/** The status of a camera nobody runs yet. */
export function restingStatus(camera: Camera): 'starting' | 'idle' | 'disabled' {
  if (!camera.enabled) return 'disabled';
  return camera.mode === 'always' ? 'starting' : 'idle';
}
