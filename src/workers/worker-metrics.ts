import { Counter, Gauge, type Registry } from 'prom-client';
import type { IngestSnapshot } from '../ingest/supervisor.js';
import { WARNING_KINDS, type WarningKind } from '../ingest/warnings.js';

export interface MeteredCamera {
  cameraId: string;
  snapshot(): IngestSnapshot | null;
}

/**
 * Per-camera metrics of the cameras this worker ingests, labelled by camera id (never the URL, so labels
 * stay bounded and carry no credentials). Gauges are read from the supervisors when Prometheus scrapes;
 * counters are kept, and dropped when a camera leaves this worker.
 */
export class WorkerMetrics {
  private readonly restarts: Counter<'camera'>;
  private readonly warnings: Counter<'camera' | 'kind'>;

  constructor(registry: Registry, workerId: string, cameras: () => Iterable<MeteredCamera>) {
    const live = () =>
      [...cameras()].flatMap((c) => {
        const snapshot = c.snapshot();
        return snapshot && snapshot.status !== 'stopped' ? [{ cameraId: c.cameraId, snapshot }] : [];
      });
    const gauge = (name: string, help: string, value: (s: IngestSnapshot) => number | null) =>
      new Gauge({
        name,
        help,
        labelNames: ['camera'],
        registers: [registry],
        collect() {
          this.reset();
          for (const { cameraId, snapshot } of live()) {
            const v = value(snapshot);
            if (v !== null) this.set({ camera: cameraId }, v);
          }
        },
      });
    new Gauge({
      name: 'camrelay_camera_status',
      help: 'The status of each camera this worker ingests: 1 for the current one.',
      labelNames: ['camera', 'status'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { cameraId, snapshot } of live())
          this.set({ camera: cameraId, status: snapshot.status }, 1);
      },
    });
    gauge('camrelay_camera_fps', 'Frames per second over the last few seconds.', (s) => s.fps);
    gauge('camrelay_camera_bitrate_bits_per_second', 'From the sizes of the segments written.', (s) =>
      s.bitrateKbps === null ? null : s.bitrateKbps * 1000,
    );
    gauge('camrelay_camera_segment_age_seconds', 'Time since the newest segment was written.', (s) =>
      s.lastSegmentAtMs === null ? null : (Date.now() - s.lastSegmentAtMs) / 1000,
    );
    new Gauge({
      name: 'camrelay_worker_active_ingests',
      help: 'Cameras this worker is ingesting.',
      labelNames: ['worker'],
      registers: [registry],
      collect() {
        this.set({ worker: workerId }, live().length);
      },
    });
    this.restarts = new Counter({
      name: 'camrelay_camera_restarts_total',
      help: 'ffmpeg restarts of each camera on this worker.',
      labelNames: ['camera'],
      registers: [registry],
    });
    this.warnings = new Counter({
      name: 'camrelay_ffmpeg_warnings_total',
      help: 'ffmpeg warnings of each camera on this worker, by kind (e.g. non_monotonous_dts).',
      labelNames: ['camera', 'kind'],
      registers: [registry],
    });
  }

  restarted(cameraId: string): void {
    this.restarts.inc({ camera: cameraId });
  }

  warned(cameraId: string, kind: WarningKind): void {
    this.warnings.inc({ camera: cameraId, kind });
  }

  /** The camera left this worker: its counters go, so series do not pile up as cameras move. */
  forget(cameraId: string): void {
    this.restarts.remove({ camera: cameraId });
    for (const kind of WARNING_KINDS) this.warnings.remove({ camera: cameraId, kind });
  }
}
