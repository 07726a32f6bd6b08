import type { Camera } from '../cameras/camera.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraSources } from '../cameras/sources.js';
import type { Config } from '../config/schema.js';
import type { HealthReport } from '../health/record.js';
import type { HealthStore } from '../health/store.js';
import type { InputStreams } from '../ingest/input-streams.js';
import { clearOutput, outputDirFor } from '../ingest/output-dir.js';
import { type IngestSnapshot, IngestSupervisor, type IngestTarget } from '../ingest/supervisor.js';
import { WarningTally, warningKind } from '../ingest/warnings.js';
import type { Logger } from '../log.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * Why a session ended: the camera is gone or was disabled; this worker let go of it (shutdown, cancel);
 * or it was lost: its lock expired or another worker claimed the camera, which may already be writing.
 */
export type SessionEnd = 'removed' | 'disabled' | 'released' | 'lost';

export interface SessionDeps {
  config: Config;
  registry: CameraRegistry;
  health: HealthStore;
  workerId: string;
  log: Logger;
  metrics: WorkerMetrics;
  sources: CameraSources;
}

/**
 * One camera job on this worker: claims the camera in Redis, runs its supervisor, reports health, and
 * follows the registry until the camera is deleted or disabled or the job is taken away.
 */
export class CameraSession {
  private supervisor: IngestSupervisor | null = null;
  private revision = 0;
  private finish!: (end: SessionEnd) => void;
  private readonly ended = new Promise<SessionEnd>((resolve) => {
    this.finish = resolve;
  });
  private readonly log: Logger;
  private readonly outputDir: string;
  private readonly warnings = new WarningTally();

  constructor(
    readonly cameraId: string,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.log.child({ cameraId });
    this.outputDir = outputDirFor(deps.config.hlsRoot, cameraId);
  }

  async run(signal: AbortSignal | undefined): Promise<SessionEnd> {
    const claim = await this.deps.health.claim(this.cameraId, this.deps.workerId);
    if (claim !== 'ok') return claim === 'missing' ? 'removed' : 'disabled';
    const camera = await this.deps.registry.get(this.cameraId);
    if (!camera) return 'removed';
    if (!camera.enabled) return 'disabled';
    this.revision = camera.revision;
    let target: IngestTarget;
    try {
      target = this.targetOf(camera);
    } catch (err) {
      return this.cannotOpen(err as Error, signal);
    }
    const supervisor = new IngestSupervisor(
      target,
      this.outputDir,
      this.settings(),
      this.log,
      await this.hint(),
      (url) => this.deps.sources.pin(url),
    );
    this.supervisor = supervisor;
    supervisor.on('status', (change) => {
      if (change.to === 'stopped') return;
      const level = change.to === 'online' || change.to === 'starting' ? 'info' : 'warn';
      this.log[level]({ from: change.from, to: change.to, reason: change.reason }, `camera ${change.to}`);
      if (change.restart) this.deps.metrics.restarted(this.cameraId);
      void this.publish(reportOf(supervisor.snapshot()), { restart: change.restart, reason: change.reason });
    });
    supervisor.on('warning', (line) => {
      const kind = warningKind(line.message);
      this.warnings.add(kind);
      this.deps.metrics.warned(this.cameraId, kind);
    });
    supervisor.on('input', () => void this.publish(reportOf(supervisor.snapshot())));
    signal?.addEventListener('abort', () => this.finish('released'), { once: true });
    if (signal?.aborted) this.finish('released');
    this.log.info({ transcode: camera.transcode }, 'ingest session started');
    supervisor.start();
    const end = await this.ended;
    await supervisor.stop();
    await this.cleanUp(end);
    this.log.info({ end }, 'ingest session ended');
    return end;
  }

  /** Applies the registry's current copy of the camera (null: deleted). */
  refresh(camera: Camera | null): void {
    if (!camera?.enabled) {
      this.finish(camera ? 'disabled' : 'removed');
    } else if (camera.revision !== this.revision) {
      this.revision = camera.revision;
      try {
        if (!this.supervisor) throw new Error('no supervisor: the camera could not be opened');
        this.supervisor.reconfigure(this.targetOf(camera));
      } catch {
        // Start over with the new record, on whichever worker takes the job.
        this.finish('released');
      }
    }
  }

  /** Ends the session now and hands the camera back (worker shutting down). */
  release(): void {
    this.finish('released');
  }

  /** Stops ffmpeg now and touches nothing: the camera belongs to another worker already. */
  lose(): void {
    this.finish('lost');
  }

  snapshot(): IngestSnapshot | null {
    return this.supervisor?.snapshot() ?? null;
  }

  /** Logs the ffmpeg warnings counted since the last summary, in one line. */
  summarizeWarnings(intervalMs: number): void {
    const counts = this.warnings.take();
    if (counts) this.log.info({ warnings: counts, intervalSec: intervalMs / 1000 }, 'ffmpeg warnings');
  }

  /** The current measurements, for the worker's periodic heartbeat. */
  report(): HealthReport | null {
    const snapshot = this.supervisor?.snapshot();
    return snapshot && snapshot.status !== 'stopped' ? reportOf(snapshot) : null;
  }

  /**
   * The camera's sealed URL does not open with this process's key (CAMRELAY_SECRET_KEY differs between
   * processes): say so in its health and hold the job until the camera changes or the worker stops.
   */
  private async cannotOpen(err: Error, signal: AbortSignal | undefined): Promise<SessionEnd> {
    this.log.error({ err }, 'cannot open the camera URL');
    await this.publish({ status: 'unsupported', lastError: err.message });
    signal?.addEventListener('abort', () => this.finish('released'), { once: true });
    const end = await this.ended;
    await this.cleanUp(end);
    return end;
  }

  private targetOf(camera: Camera): IngestTarget {
    return {
      url: this.deps.sources.open(camera),
      transcode: camera.transcode,
      rtspTransport: camera.rtspTransport,
    };
  }

  private async publish(
    report: HealthReport,
    change: { restart?: boolean; reason?: string | null } = {},
  ): Promise<void> {
    try {
      const result = await this.deps.health.report(this.cameraId, this.deps.workerId, report, change);
      // 'unowned': deleted or disabled; the registry's change ends the session and clears its output.
      if (result === 'taken') this.lostToAnother();
    } catch (err) {
      this.log.warn({ err }, 'could not write health');
    }
  }

  /** Called when the health record names another owner: two ffmpeg must never write one camera. */
  lostToAnother(): void {
    this.log.warn('another worker has claimed this camera; stopping its ffmpeg here');
    this.lose();
  }

  private async cleanUp(end: SessionEnd): Promise<void> {
    // A lost camera's folder may already be its new owner's.
    if (end === 'lost') return;
    // The output goes before the job is handed back, so a next owner on a shared volume starts clean.
    await clearOutput(this.outputDir).catch((err: unknown) =>
      this.log.warn({ err }, 'could not clear output'),
    );
    if (end === 'released') {
      await this.deps.health
        .release(
          this.cameraId,
          this.deps.workerId,
          `worker ${this.deps.workerId} let go; waiting for a worker`,
        )
        .catch((err: unknown) => this.log.warn({ err }, 'could not release health record'));
    }
  }

  private settings() {
    const { config } = this.deps;
    return {
      ioTimeoutMs: config.ffmpeg.rtspTimeoutMs,
      stopGraceMs: config.ffmpeg.stopGraceMs,
      staleTimeoutMs: config.ffmpeg.staleTimeoutMs,
      segmentDurationSec: config.hls.segmentDurationSec,
      listSize: config.hls.listSize,
    };
  }

  /** What this camera sent the last time anyone ingested it, so the first plan usually fits. */
  private async hint(): Promise<InputStreams | null> {
    const fields = await this.deps.health.fields(this.cameraId);
    if (!fields.videoCodec) return null;
    const rate = fields.audioSampleRateHz ? Number(fields.audioSampleRateHz) : null;
    return {
      video: {
        codec: fields.videoCodec,
        profile: null,
        pixelFormat: null,
        width: null,
        height: null,
        fps: null,
      },
      audio:
        !fields.audioCodec || fields.audioCodec === 'none'
          ? null
          : { codec: fields.audioCodec, sampleRateHz: rate, channels: null },
    };
  }
}

function reportOf(snapshot: IngestSnapshot): HealthReport {
  const { input, plan } = snapshot;
  return {
    status: snapshot.status === 'stopped' ? 'offline' : snapshot.status,
    lastError: snapshot.lastError,
    lastSegmentAtMs: snapshot.lastSegmentAtMs,
    fps: snapshot.fps,
    bitrateKbps: snapshot.bitrateKbps,
    ...(input
      ? {
          videoCodec: input.video?.codec ?? null,
          width: input.video?.width ?? null,
          height: input.video?.height ?? null,
          audioCodec: input.audio?.codec ?? 'none',
          audioSampleRateHz: input.audio?.sampleRateHz ?? null,
        }
      : {}),
    ...(plan
      ? {
          videoMode: plan.video === 'copy' ? 'copy' : 'transcode',
          audioMode:
            (input && !input.audio) || plan.audio === 'none'
              ? 'none'
              : plan.audio === 'copy'
                ? 'copy'
                : 'transcode',
        }
      : {}),
  };
}
