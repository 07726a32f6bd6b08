import type { HealthStore } from '../health/store.js';
import type { IngestQueue } from '../workers/ingest-queue.js';
import type { Camera, CameraCreate, CameraPatch } from './camera.js';
import type { CameraRegistry } from './registry.js';
import type { CameraSources } from './sources.js';

/**
 * What the API does to a camera, across the three places that know of it: the registry (wanted state),
 * the health record (actual state) and the ingest queue. Running workers learn of every change from the
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
    await this.health.register(camera.id, camera.enabled);
    if (camera.enabled) await this.queue.ensure(camera.id);
    return camera;
  }

  async update(id: string, patch: CameraPatch): Promise<Camera> {
    const { url, ...rest } = patch;
    const sealed = url === undefined ? {} : await this.sources.admit(url);
    const { before, after } = await this.registry.update(id, { ...rest, ...sealed });
    if (before.enabled !== after.enabled) {
      await this.health.register(id, after.enabled);
      if (after.enabled) await this.queue.ensure(id);
      else await this.queue.removeWaiting(id);
    }
    return after;
  }

  async delete(id: string): Promise<boolean> {
    if (!(await this.registry.delete(id))) return false;
    await this.queue.removeWaiting(id);
    await this.health.remove(id);
    return true;
  }

  /**
   * Makes sure every enabled camera has its job, e.g. after a crash between a write and its enqueue, or
   * after a Redis restore. Adding is idempotent, so this is safe to run at any time from any process.
   */
  async ensureJobs(pageSize = 1000): Promise<number> {
    let ensured = 0;
    for await (const ids of this.registry.allIds(pageSize)) {
      const cameras = await this.registry.getMany(ids);
      const enabled = cameras.filter((camera): camera is Camera => camera?.enabled === true);
      await this.queue.ensureMany(enabled.map((camera) => camera.id));
      ensured += enabled.length;
    }
    return ensured;
  }
}
