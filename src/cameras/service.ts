import type { HealthStore } from '../health/store.js';
import type { IngestQueue } from '../workers/ingest-queue.js';
import type { Camera, CameraCreate, CameraPatch } from './camera.js';
import type { CameraRegistry } from './registry.js';
import type { CameraSources } from './sources.js';

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

  async create(input: CameraCreate): Promise<Camera> {
    const { url, ...rest } = input;
    const camera = await this.registry.create({ ...rest, ...(await this.sources.admit(url)) });
    await this.health.register(camera.id, restingStatus(camera));
    if (runsAlways(camera)) await this.queue.ensure(camera.id);
    return camera;
  }

  async update(id: string, patch: CameraPatch): Promise<Camera> {
    const { url, ...rest } = patch;
    const sealed = url === undefined ? {} : await this.sources.admit(url);
    const { before, after } = await this.registry.update(id, { ...rest, ...sealed });
    // A camera a worker runs keeps its record; that worker follows the change from the registry.
    if (before.enabled !== after.enabled) await this.health.register(id, restingStatus(after));
    if (!after.enabled) await this.queue.removeWaiting(id);
    if (runsAlways(after) && !runsAlways(before)) await this.queue.ensure(id);
    return after;
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
