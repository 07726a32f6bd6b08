import { EventEmitter } from 'node:events';
import { redactSecrets, secretsOf } from '../cameras/url.js';
import { DiskCopy } from '../llhls/disk-copy.js';
import type { LiveStream } from '../llhls/live-stream.js';
import type { Packager } from '../llhls/packager.js';
import type { Logger } from '../log.js';
import { BACKOFF, backoffDelayMs } from './backoff.js';
import { classifyExit } from './classify.js';
import { type EncodePlan, planEncode, planFits, type TranscodePolicy } from './codec-policy.js';
import { IngestRun, type RunOutcome } from './ingest-run.js';
import type { InputStreams } from './input-streams.js';
import { clearOutput, ensureOutputDir, pruneOtherRuns } from './output-dir.js';
import type { ProgressBlock } from './progress.js';
import { RateMeter } from './rate-meter.js';
import { endpointOf, tcpReachable } from './reachability.js';
import type { SegmentWritten } from './segment-watcher.js';
import { assertTransition, type IngestStatus } from './status.js';
import type { StderrLine } from './stderr-line.js';

/**
 * Whether ffmpeg may start, and on which URL. A refusal is `unsupported` (the URL breaks the deployment's
 * policy) unless it says `offline` (nothing to read yet: a push camera with no publisher).
 */
export type AdmitVerdict =
  /**
   * watchPort false: an open port says nothing of the source coming back (a push server is always up), so
   * backoff does not knock on it; retryNow() says so instead.
   */
  | { ok: true; url: string; watchPort?: boolean }
  | { ok: false; reason: string; status?: 'offline' | 'unsupported' };

/** What the supervisor ingests: the camera fields that matter to ffmpeg. */
export interface IngestTarget {
  url: string;
  transcode: TranscodePolicy;
  rtspTransport: 'tcp' | 'udp';
}

export interface SupervisorSettings {
  ioTimeoutMs: number;
  stopGraceMs: number;
  /** No new frames (or no new segment) for this long while running means stalled. */
  staleTimeoutMs: number;
  segmentDurationSec: number;
  listSize: number;
  /** Part length for LL-HLS (SupervisorSpec.live set). */
  partDurationMs: number;
  /** LL-HLS: also write segments and a classic playlist to the output folder. */
  writeDisk: boolean;
}

export interface StatusChange {
  from: IngestStatus;
  to: IngestStatus;
  reason: string | null;
  atMs: number;
  /** True when this start is a restart of ffmpeg, not the first start of this supervisor. */
  restart: boolean;
}

/** Live measurements, published with the heartbeat. */
export interface IngestSnapshot {
  status: IngestStatus;
  sinceMs: number;
  fps: number | null;
  bitrateKbps: number | null;
  lastSegmentAtMs: number | null;
  input: InputStreams | null;
  plan: EncodePlan | null;
  lastError: string | null;
}

export interface SupervisorEvents {
  status: [StatusChange];
  input: [InputStreams, EncodePlan];
  /** A warning from ffmpeg, redacted. */
  warning: [StderrLine];
}

/** What a camera session needs of a supervisor; the benchmarks put a simulated one in its place. */
export type StopHow = 'gracefully' | 'at-once';

export interface Supervisor extends EventEmitter<SupervisorEvents> {
  start(): void;
  /** 'at-once': SIGKILL, for a camera this worker lost, whose output is no longer its own to finish. */
  stop(how?: StopHow): Promise<void>;
  reconfigure(target: IngestTarget): void;
  /** The source may be back (a publisher arrived): end a backoff wait now. A running ffmpeg is left alone. */
  retryNow(): void;
  snapshot(): IngestSnapshot;
}

export interface SupervisorSpec {
  target: IngestTarget;
  outputDir: string;
  settings: SupervisorSettings;
  log: Logger;
  inputHint: InputStreams | null;
  admit: (url: string) => Promise<AdmitVerdict>;
  /** LL-HLS: ffmpeg's fMP4 goes to this stream's packager, in memory. null: ffmpeg writes HLS files. */
  live?: LiveStream | null;
}

export type SupervisorFactory = (spec: SupervisorSpec) => Supervisor;

export const createSupervisor: SupervisorFactory = (spec) =>
  new IngestSupervisor(
    spec.target,
    spec.outputDir,
    spec.settings,
    spec.log,
    spec.inputHint,
    spec.admit,
    spec.live ?? null,
  );

const WATCHDOG_TICK_MS = 500;
/** How often an offline camera's TCP port is tried during backoff, and how long one try may take. */
const REACHABILITY_PROBE_MS = 1000;
const RATE_WINDOW_MS = 4000;
const BITRATE_SEGMENTS = 5;

/**
 * Keeps one camera's ffmpeg running while the order is "run": wanted state (the order) kept apart from
 * actual state (the status, which moves only along the transition table in status.ts). It restarts only
 * while the order is run, classifies every exit, backs off, and kills an ffmpeg that is alive but makes
 * no progress. It knows nothing of Redis or queues; it reports through events and snapshot().
 */
export class IngestSupervisor extends EventEmitter<SupervisorEvents> implements Supervisor {
  private order: 'run' | 'stop' = 'stop';
  private stopHow: StopHow = 'gracefully';
  private status: IngestStatus = 'stopped';
  private sinceMs = Date.now();
  private lastError: string | null = null;
  private run: IngestRun | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private attempt = 0;
  private starts = 0;
  private input: InputStreams | null;
  private plan: EncodePlan | null = null;
  private runStartedAtMs = 0;
  private lastFrame = -1;
  private lastFrameAtMs = 0;
  private lastSegmentAtMs: number | null = null;
  private segmentBits: Array<{ bits: number; durationSec: number }> = [];
  private readonly fps = new RateMeter(RATE_WINDOW_MS);
  private watchdog: NodeJS.Timeout | null = null;
  /** Set when a reconfigure ends the current run: start again without backoff. */
  private wantsRestartNow = false;
  /** Set by retryNow(); a backoff that begins after it is skipped, so a retry asked for mid-attempt is kept. */
  private retryPending = false;
  /** Set when the watchdog ended the current run; its status stands, the exit is not classified again. */
  private endedByWatchdog = false;
  /** Counts interrupts, so a multi-step wait can tell it was cut short. */
  private wakes = 0;
  /** The URL ffmpeg was last given: the target's, with its host pinned to the address that was checked. */
  private sourceUrl = '';
  /** Whether the source's TCP port opening again means it is back (see AdmitVerdict). */
  private watchPort = true;
  private redact: (text: string) => string;

  constructor(
    private target: IngestTarget,
    private readonly outputDir: string,
    private readonly settings: SupervisorSettings,
    private readonly log: Logger,
    /** What this camera sent last time, so the first plan is usually right. */
    inputHint: InputStreams | null = null,
    /** Checks the URL each time ffmpeg starts and gives the one to use (CAMERA_NETWORKS pins its address). */
    private readonly admit: (url: string) => Promise<AdmitVerdict> = async (url) => ({ ok: true, url }),
    private readonly live: LiveStream | null = null,
  ) {
    super();
    this.input = inputHint;
    this.redact = redacterFor(target.url);
  }

  /** Order: run. Returns at once; the supervisor keeps ffmpeg up until stop(). */
  start(): void {
    if (this.order === 'run') return;
    this.order = 'run';
    this.stopHow = 'gracefully';
    this.loop = this.keepRunning().catch((err: unknown) => {
      this.log.error({ err }, 'supervisor loop failed');
    });
  }

  /** Order: stop. Resolves when ffmpeg has exited and the status is stopped. */
  async stop(how: StopHow = 'gracefully'): Promise<void> {
    this.order = 'stop';
    this.stopHow = how;
    this.interrupt();
    await this.loop;
  }

  /** Applies a changed camera. A change to what ffmpeg reads restarts it now, without backoff. */
  reconfigure(target: IngestTarget): void {
    const changed =
      target.url !== this.target.url ||
      target.transcode !== this.target.transcode ||
      target.rtspTransport !== this.target.rtspTransport;
    if (!changed) return;
    if (target.url !== this.target.url) this.input = null;
    this.target = target;
    this.redact = redacterFor(target.url);
    this.attempt = 0;
    this.log.info('camera changed; restarting ingest');
    this.interrupt();
  }

  snapshot(): IngestSnapshot {
    const bits = this.segmentBits.reduce((sum, s) => sum + s.bits, 0);
    const seconds = this.segmentBits.reduce((sum, s) => sum + s.durationSec, 0);
    const live = this.status === 'online';
    const fps = live ? this.fps.perSecond() : null;
    return {
      status: this.status,
      sinceMs: this.sinceMs,
      fps: fps === null ? null : Math.round(fps * 10) / 10,
      bitrateKbps: live && seconds > 0 ? Math.round(bits / seconds / 1000) : null,
      lastSegmentAtMs: this.lastSegmentAtMs,
      input: this.input,
      plan: this.plan,
      lastError: this.lastError,
    };
  }

  private async keepRunning(): Promise<void> {
    while (this.order === 'run') {
      const outcome = await this.runOnce();
      if (this.order !== 'run') break;
      if (outcome === 'restart-now') continue;
      if (this.retryPending) {
        this.retryPending = false;
        continue;
      }
      const policy = BACKOFF[this.status as keyof typeof BACKOFF] ?? BACKOFF.offline;
      const delayMs = backoffDelayMs(policy, this.attempt++);
      this.log.info({ status: this.status, delayMs }, 'retrying after backoff');
      await (this.status === 'offline' ? this.waitForReturn(delayMs) : this.sleep(delayMs));
    }
    this.setStatus('stopped', null);
  }

  /** One ffmpeg run; says whether to restart at once (re-plan, reconfigure) or after a backoff. */
  private async runOnce(): Promise<'restart-now' | 'backoff'> {
    this.retryPending = false;
    const admitted = await this.admit(this.target.url);
    if (this.order !== 'run') return 'backoff';
    if (!admitted.ok) {
      this.refuse(admitted.status ?? 'unsupported', admitted.reason);
      return 'backoff';
    }
    this.beginRun();
    const runId = `${Date.now().toString(36)}${this.starts.toString(36)}`;
    const plan = planEncode(this.target.transcode, this.input);
    this.plan = plan;
    this.sourceUrl = admitted.url;
    this.watchPort = admitted.watchPort !== false;
    let run: IngestRun;
    const packager = this.live?.startRun(runId) ?? null;
    const diskCopy =
      packager && this.settings.writeDisk ? new DiskCopy(this.outputDir, packager, this.log) : null;
    try {
      if (!packager || diskCopy) await ensureOutputDir(this.outputDir);
      run = await IngestRun.start(this.runParams(plan, runId, packager), this.runEvents(plan, runId));
    } catch (err) {
      if (packager) this.live?.endRun(packager);
      this.setStatus('offline', this.redact((err as Error).message));
      return 'backoff';
    }
    this.run = run;
    this.log.info({ ffmpegPid: run.pid, plan }, 'ffmpeg started');
    // stop() or reconfigure() arrived while ffmpeg was being spawned.
    if (this.wantsRestartNow || this.order !== 'run') this.endRun();
    this.startWatchdog();
    const outcome = await run.done;
    this.stopWatchdog();
    this.run = null;
    if (packager) this.live?.endRun(packager);
    return this.afterRun(outcome);
  }

  /**
   * No ffmpeg this time. A camera that keeps being refused for the same cause keeps its status and gets the
   * latest reason, without a status event at every retry; any other status passes through starting, as the
   * transition table wants.
   */
  private refuse(status: 'offline' | 'unsupported', reason: string): void {
    if (this.status === status) {
      this.lastError = reason;
      return;
    }
    this.setStatus('starting', this.lastError, this.starts > 0);
    this.setStatus(status, reason);
  }

  private beginRun(): void {
    this.setStatus('starting', this.status === 'stopped' ? null : this.lastError, this.starts > 0);
    this.starts++;
    this.runStartedAtMs = Date.now();
    this.lastFrame = -1;
    this.lastFrameAtMs = this.runStartedAtMs;
    this.segmentBits = [];
    this.fps.reset();
    this.wantsRestartNow = false;
    this.endedByWatchdog = false;
  }

  private async afterRun(outcome: RunOutcome): Promise<'restart-now' | 'backoff'> {
    this.log.info({ exit: outcome.exit }, 'ffmpeg exited');
    if (this.order !== 'run') return 'backoff';
    if (outcome.replan) {
      await clearOutput(this.outputDir);
      return 'restart-now';
    }
    if (this.endedByWatchdog) return 'backoff';
    if (this.wantsRestartNow) {
      this.wantsRestartNow = false;
      return 'restart-now';
    }
    const failure = classifyExit({
      exitCode: outcome.exit.code,
      signal: outcome.exit.signal,
      problems: outcome.problems,
      sawVideo: outcome.input ? outcome.input.video !== null : null,
    });
    this.setStatus(failure.status, failure.reason);
    return 'backoff';
  }

  private runParams(plan: EncodePlan, runId: string, packager: Packager | null) {
    return {
      partDurationMs: this.settings.partDurationMs,
      packager,
      url: this.sourceUrl,
      rtspTransport: this.target.rtspTransport,
      ioTimeoutMs: this.settings.ioTimeoutMs,
      plan,
      outputDir: this.outputDir,
      runId,
      segmentDurationSec: this.settings.segmentDurationSec,
      listSize: this.settings.listSize,
      redact: this.redact,
    };
  }

  private runEvents(plan: EncodePlan, runId: string) {
    return {
      onInput: (streams: InputStreams) => {
        this.input = streams;
        const fits = planFits(plan, this.target.transcode, streams);
        if (fits) this.emit('input', streams, plan);
        else
          this.log.info(
            { video: streams.video?.codec, audio: streams.audio?.codec },
            're-planning for streams',
          );
        return fits;
      },
      onProgress: (block: ProgressBlock) => this.onProgress(block),
      onSegment: (segment: SegmentWritten) => this.onSegment(segment, runId),
      onProblem: (line: StderrLine) => {
        if (line.level === 'warning') this.emit('warning', line);
      },
      onBadOutput: (message: string) => {
        this.log.error({ message }, 'ffmpeg output is not fragmented MP4; ending the run');
      },
    };
  }

  private onProgress(block: ProgressBlock): void {
    if (block.frame === null) return;
    const now = Date.now();
    this.fps.record(now, block.frame);
    if (block.frame > this.lastFrame) {
      this.lastFrame = block.frame;
      this.lastFrameAtMs = now;
    }
  }

  private onSegment(segment: SegmentWritten, runId: string): void {
    this.lastSegmentAtMs = segment.seenAtMs;
    this.segmentBits.push({ bits: segment.sizeBytes * 8, durationSec: segment.durationSec });
    if (this.segmentBits.length > BITRATE_SEGMENTS) this.segmentBits.shift();
    if (this.status !== 'starting') return;
    this.attempt = 0;
    // ffmpeg reads the camera's buffered first frames faster than real time; measure from here on.
    this.fps.reset();
    this.setStatus('online', null);
    if (!this.live) void pruneOtherRuns(this.outputDir, runId);
  }

  /** Watch progress, not the PID: frames and segments must keep coming. */
  private startWatchdog(): void {
    const startTimeoutMs =
      this.settings.ioTimeoutMs + this.settings.staleTimeoutMs + 4000 * this.settings.segmentDurationSec;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (this.status === 'starting' && now - this.runStartedAtMs > startTimeoutMs) {
        this.endRunAs(
          'offline',
          `no video segment within ${Math.round(startTimeoutMs / 1000)} s of starting`,
        );
        return;
      }
      if (this.status !== 'online') return;
      const segmentLimitMs = Math.max(this.settings.staleTimeoutMs, 3000 * this.settings.segmentDurationSec);
      const frameAgeMs = now - this.lastFrameAtMs;
      const segmentAgeMs = now - (this.lastSegmentAtMs ?? this.runStartedAtMs);
      if (frameAgeMs > this.settings.staleTimeoutMs || segmentAgeMs > segmentLimitMs) {
        const what = frameAgeMs > this.settings.staleTimeoutMs ? 'frame' : 'segment';
        const ageMs = Math.max(frameAgeMs, segmentAgeMs);
        this.endRunAs('stalled', `no new ${what} for ${(ageMs / 1000).toFixed(1)} s; restarting ffmpeg`);
      }
    }, WATCHDOG_TICK_MS);
  }

  private endRunAs(status: 'offline' | 'stalled', reason: string): void {
    this.stopWatchdog();
    this.endedByWatchdog = true;
    this.setStatus(status, reason);
    void this.run?.stop(this.settings.stopGraceMs);
  }

  private stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  private setStatus(to: IngestStatus, reason: string | null, restart = false): void {
    const from = this.status;
    if (from === to && to !== 'starting') return;
    assertTransition(from, to);
    this.status = to;
    this.sinceMs = Date.now();
    if (to !== 'starting' && to !== 'stopped') this.lastError = reason;
    if (to === 'online') this.lastError = null;
    this.emit('status', { from, to, reason, atMs: this.sinceMs, restart });
  }

  /**
   * Backs off like sleep(), but also knocks on the camera's TCP port every second: when a port that was
   * closed opens (the camera is back from a reboot), it retries at once. Backoff still spares a camera that
   * stays away, and a camera whose port stays open but fails otherwise (404, no RTSP) waits its full delay.
   */
  private async waitForReturn(delayMs: number): Promise<void> {
    const endpoint = this.watchPort ? endpointOf(this.sourceUrl) : null;
    if (!endpoint || delayMs <= REACHABILITY_PROBE_MS) return this.sleep(delayMs);
    const wakes = this.wakes;
    const deadline = Date.now() + delayMs;
    let wasReachable = await tcpReachable(endpoint.host, endpoint.port, REACHABILITY_PROBE_MS);
    while (Date.now() < deadline && this.wakes === wakes) {
      await this.sleep(Math.min(REACHABILITY_PROBE_MS, deadline - Date.now()));
      if (this.wakes !== wakes || Date.now() >= deadline) return;
      const reachable = await tcpReachable(endpoint.host, endpoint.port, REACHABILITY_PROBE_MS);
      if (reachable && !wasReachable) {
        this.log.info('camera port answers again; retrying now');
        return;
      }
      wasReachable = reachable;
    }
  }

  retryNow(): void {
    if (this.order !== 'run' || this.run) return;
    this.retryPending = true;
    this.attempt = 0;
    this.wakes++;
    this.wake?.();
  }

  /** Ends the current ffmpeg or backoff wait so the loop re-reads the order and the target. */
  private interrupt(): void {
    this.wantsRestartNow = this.order === 'run';
    this.wakes++;
    this.endRun();
    this.wake?.();
  }

  private endRun(): void {
    if (this.stopHow === 'at-once') void this.run?.kill();
    else void this.run?.stop(this.settings.stopGraceMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

function redacterFor(url: string): (text: string) => string {
  const secrets = secretsOf(url);
  return (text) => redactSecrets(text, secrets);
}
