import type { Camera } from '../cameras/camera.js';
import type { CameraRegistry } from '../cameras/registry.js';
import type { CameraSources } from '../cameras/sources.js';
import type { Config } from '../config/schema.js';
import type { HealthReport } from '../health/record.js';
import type { HealthStore } from '../health/store.js';
import type { InputStreams } from '../ingest/input-streams.js';
import { clearOutput, outputDirFor } from '../ingest/output-dir.js';
import type { IngestSnapshot, IngestTarget, Supervisor, SupervisorFactory } from '../ingest/supervisor.js';
import { WarningTally, warningKind } from '../ingest/warnings.js';
import type { LiveStream } from '../llhls/live-stream.js';
import type { LiveStreams } from '../llhls/live-streams.js';
import type { Logger } from '../log.js';
import { type PushSources, pushTarget } from '../push/push-sources.js';
import type { WorkerMetrics } from './worker-metrics.js';

/**
 * Why a session ended: the camera is gone or was disabled; this worker handed it back (shutdown); nobody
 * watched it (an idle on-demand camera); or it was lost: its lease ran out or another worker holds it now,
 * and may already be writing.
 */
export type SessionEnd = 'removed' | 'disabled' | 'released' | 'idle' | 'lost';

export interface SessionDeps {
  config: Config;
  registry: CameraRegistry;
  health: HealthStore;
  workerId: string;
  log: Logger;
  metrics: WorkerMetrics;
  sources: CameraSources;
  push: PushSources;
  createSupervisor: SupervisorFactory;
  /** LL-HLS mode: the streams this process serves from memory. null: ffmpeg writes HLS files. */
  liveStreams: LiveStreams | null;
}

/**
 * One camera on this worker, from the moment the worker holds its lease: runs its supervisor, reports
 * health, and follows the registry until the camera is deleted, disabled, idle, handed back or lost.
 */
export class CameraSession {
  private supervisor: Supervisor | null = null;
  private revision = 0;
  private isPush = false;
  private finish!: (end: SessionEnd) => void;
  private readonly ended = new Promise<SessionEnd>((resolve) => {
    this.finish = resolve;
  });
  private ending = false;
  private readonly log: Logger;
  private readonly outputDir: string;
  private readonly warnings = new WarningTally();
  /** When the session began (ms): an on-demand camera gets a full idle period before it can be idle. */
  readonly startedAtMs = Date.now();
  mode: Camera['mode'] = 'always';
  /** Status changes this session has made; stamps its reports (HealthReport.statusSeq). */
  private statusChanges = 0;
  /** LL-HLS: this camera's stream in memory, from the supervisor's start to the session's end. */
  private live: LiveStream | null = null;

  constructor(
    readonly cameraId: string,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.log.child({ cameraId });
    this.outputDir = outputDirFor(deps.config.hlsRoot, cameraId);
  }

  /** Whether the session is on its way out: a new one for the camera must wait for it. */
  get isEnding(): boolean {
    return this.ending;
  }

  /** Runs until the session ends; the worker holds the camera's lease already. */
  async run(): Promise<SessionEnd> {
    const camera = await this.deps.registry.get(this.cameraId);
    if (!camera?.enabled) return this.end(camera ? 'disabled' : 'removed');
    this.revision = camera.revision;
    this.mode = camera.mode;
    this.isPush = camera.source === 'push';
    let target: IngestTarget;
    try {
      target = this.targetOf(camera);
    } catch (err) {
      return this.cannotOpen(err as Error);
    }
    this.live = this.deps.liveStreams?.open(this.cameraId) ?? null;
    const supervisor = this.deps.createSupervisor({
      target,
      outputDir: this.outputDir,
      settings: this.settings(),
      log: this.log,
      inputHint: await this.hint(),
      admit: (url) => (this.isPush ? this.deps.push.resolve(this.cameraId) : this.deps.sources.pin(url)),
      live: this.live,
    });
    this.supervisor = supervisor;
    this.follow(supervisor);
    this.log.info({ transcode: camera.transcode, mode: camera.mode }, 'ingest session started');
    supervisor.start();
    const end = await this.ended;
    this.ending = true;
    await supervisor.stop(end === 'lost' ? 'at-once' : 'gracefully');
    return this.end(end);
  }

  /** Applies the registry's current copy of the camera (null: deleted). */
  refresh(camera: Camera | null): void {
    if (!camera?.enabled) {
      this.finish(camera ? 'disabled' : 'removed');
      return;
    }
    this.mode = camera.mode;
    if (camera.revision === this.revision) return;
    this.revision = camera.revision;
    try {
      if (!this.supervisor) throw new Error('no supervisor: the camera could not be opened');
      this.supervisor.reconfigure(this.targetOf(camera));
    } catch {
      // Start over with the new record, on whichever worker takes it.
      this.finish('released');
    }
  }

  /** A publisher of this push camera was admitted: pull it now rather than after the backoff. */
  sourcePublished(): void {
    this.supervisor?.retryNow();
  }

  /** Hands the camera back, for another worker to take at once (this worker is shutting down). */
  release(): void {
    this.finish('released');
  }

  /** Nobody has watched this on-demand camera for a while. */
  idle(): void {
    this.finish('idle');
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

  /** The current measurements, for the worker's periodic report. */
  report(): HealthReport | null {
    const snapshot = this.supervisor?.snapshot();
    return snapshot && snapshot.status !== 'stopped' ? this.stamped(reportOf(snapshot)) : null;
  }

  /** Marks a report with how many status changes came before it, so Redis can drop it once outdated. */
  private stamped(report: HealthReport): HealthReport {
    return { ...report, statusSeq: this.statusChanges };
  }

  private follow(supervisor: Supervisor): void {
    supervisor.on('status', (change) => {
      if (change.to === 'stopped') return;
      this.statusChanges++;
      // A push camera is offline whenever its encoder is: a parked car is routine, not a fault.
      const routine =
        change.to === 'online' || change.to === 'starting' || (this.isPush && change.to === 'offline');
      const level = routine ? 'info' : 'warn';
      this.log[level]({ from: change.from, to: change.to, reason: change.reason }, `camera ${change.to}`);
      if (change.restart) this.deps.metrics.restarted(this.cameraId);
      void this.publish(reportOf(supervisor.snapshot()), { restart: change.restart, reason: change.reason });
    });
    supervisor.on('input', () => void this.publish(reportOf(supervisor.snapshot())));
    supervisor.on('warning', (line) => {
      const kind = warningKind(line.message);
      this.warnings.add(kind);
      this.deps.metrics.warned(this.cameraId, kind);
    });
  }

  /**
   * The camera's sealed URL does not open with this process's key (CAMRELAY_SECRET_KEY differs between
   * processes): say so in its health and hold the camera until it changes or the worker stops.
   */
  private async cannotOpen(err: Error): Promise<SessionEnd> {
    this.log.error({ err }, 'cannot open the camera URL');
    this.statusChanges++;
    await this.publish({ status: 'unsupported', lastError: err.message });
    const end = await this.ended;
    this.ending = true;
    return this.end(end);
  }

  private targetOf(camera: Camera): IngestTarget {
    // A camera never changes source; a record that did would be a new camera to start over with.
    if ((camera.source === 'push') !== this.isPush) throw new Error('the camera changed its source');
    return {
      url: this.isPush ? pushTarget(camera.id) : this.deps.sources.open(camera),
      transcode: camera.transcode,
      rtspTransport: camera.rtspTransport,
    };
  }

  private async publish(report: HealthReport, change: { restart?: boolean; reason?: string | null } = {}) {
    try {
      const result = await this.deps.health.report(
        this.cameraId,
        this.deps.workerId,
        this.stamped(report),
        change,
      );
      // 'unowned': deleted or disabled; the registry's change ends the session and clears its output.
      if (result === 'taken') this.lostToAnother();
    } catch (err) {
      this.log.warn({ err }, 'could not write health');
    }
  }

  /** Called when another worker holds the camera now: two ffmpeg must never write one camera. */
  lostToAnother(): void {
    this.log.warn('another worker holds this camera; stopping its ffmpeg here');
    this.lose();
  }

  /** Tidies up after the supervisor stopped: output and the health record, as the end calls for. */
  private async end(end: SessionEnd): Promise<SessionEnd> {
    this.ending = true;
    if (this.live) this.deps.liveStreams?.close(this.live);
    // A lost camera's folder may already be its new owner's.
    if (end !== 'lost') {
      // The output goes before the camera is handed back, so a next owner on a shared volume starts clean.
      await clearOutput(this.outputDir).catch((err: unknown) =>
        this.log.warn({ err }, 'could not clear output'),
      );
    }
    const { workerId, config } = this.deps;
    const release =
      end === 'released'
        ? this.deps.health.release(this.cameraId, workerId, 'offline', `worker ${workerId} handed it back`)
        : end === 'idle'
          ? this.deps.health.release(
              this.cameraId,
              workerId,
              'idle',
              `nobody watched it for ${config.onDemand.idleSec} s`,
            )
          : null;
    await release?.catch((err: unknown) => this.log.warn({ err }, 'could not release the camera'));
    this.log.info({ end }, 'ingest session ended');
    return end;
  }

  private settings() {
    const { config } = this.deps;
    return {
      ioTimeoutMs: config.ffmpeg.rtspTimeoutMs,
      stopGraceMs: config.ffmpeg.stopGraceMs,
      staleTimeoutMs: config.ffmpeg.staleTimeoutMs,
      segmentDurationSec: config.hls.segmentDurationSec,
      listSize: config.hls.listSize,
      partDurationMs: config.hls.partDurationMs,
      writeDisk: config.hls.writeDisk,
    };
  }

  /** What this camera sent the last time anyone ingested it, so the first plan usually fits. */
  private async hint(): Promise<InputStreams | null> {
    const fields = await this.deps.health.fields(this.cameraId);
    // RTMP carries H.264 and AAC nearly always: plan for them, and re-plan in the rare other case.
    if (!fields.videoCodec && this.isPush) return RTMP_USUAL_STREAMS;
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

const RTMP_USUAL_STREAMS: InputStreams = {
  video: { codec: 'h264', profile: null, pixelFormat: null, width: null, height: null, fps: null },
  audio: { codec: 'aac', sampleRateHz: null, channels: null },
};

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
