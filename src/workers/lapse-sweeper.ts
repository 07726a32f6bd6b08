import type { Camera } from '../cameras/camera.js';
import type { Demand } from '../cameras/demand.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { HealthStore } from '../health/store.js';
import type { Logger } from '../log.js';
import type { IngestQueue } from './ingest-queue.js';

/**
 * Cameras whose lease lapsed (their worker died) or that no worker took in time: the sweep marks them
 * offline and frees them, and whoever sweeps queues their start at once, so they run again elsewhere
 * without waiting for the reconciler. Workers sweep every second; a relay sweeps before it counts.
 */
export class LapseSweeper {
  constructor(
    private readonly deps: {
      health: HealthStore;
      registry: CameraRegistry;
      queue: IngestQueue;
      demand: Demand;
      idleSec: number;
      log: Logger;
    },
  ) {}

  async sweep(): Promise<number> {
    const { health, registry, queue, demand, idleSec, log } = this.deps;
    const freed = await health.sweep();
    if (freed.length === 0) return 0;
    const [cameras, watched] = await Promise.all([
      registry.getMany(freed),
      demand.since(freed, Date.now() - idleSec * 1000),
    ]);
    const restart = cameras.filter(
      (camera, i): camera is Camera =>
        camera?.enabled === true && (camera.mode === 'always' || watched[i] === true),
    );
    await queue.ensureMany(restart.map((camera) => camera.id));
    log.info({ freed: freed.length, restarting: restart.length }, 'swept cameras whose lease lapsed');
    return freed.length;
  }
}
