import type { Packager } from '../llhls/packager.js';
import { type FfmpegExit, type FfmpegHandle, startFfmpeg } from './ffmpeg.js';
import { buildIngestArgs, type IngestArgsInput } from './ffmpeg-args.js';
import { InputDumpReader, type InputStreams } from './input-streams.js';
import { type ProgressBlock, ProgressReader } from './progress.js';
import { SegmentWatcher, type SegmentWritten } from './segment-watcher.js';
import { parseStderrLine, type StderrLine } from './stderr-line.js';

/** ffmpeg writes for the packager when there is one (`fmp4-pipe`), else HLS files. */
export interface IngestRunParams extends Omit<IngestArgsInput, 'container'> {
  /** Masks credentials in a line of ffmpeg's stderr; the run sees no other text from ffmpeg. */
  redact: (text: string) => string;
  /** For `fmp4-pipe`: takes ffmpeg's stdout and reports frames and segments in place of files and progress. */
  packager: Packager | null;
}

export interface IngestRunEvents {
  /** ffmpeg's output could not be read (fmp4-pipe: not fragmented MP4); the run is ended. */
  onBadOutput?(message: string): void;
  /** ffmpeg's input dump is complete. Return false to end the run: the plan does not fit these streams. */
  onInput(streams: InputStreams): boolean;
  onProgress(block: ProgressBlock): void;
  onSegment(segment: SegmentWritten): void;
  /** A warning or error from ffmpeg, redacted. */
  onProblem(line: StderrLine): void;
}

export interface RunOutcome {
  exit: FfmpegExit;
  /** The last warnings and errors, redacted, for classifying the exit. */
  problems: StderrLine[];
  input: InputStreams | null;
  /** True when the run ended because its plan did not fit the camera's streams. */
  replan: boolean;
}

const PROBLEMS_KEPT = 20;
const SEGMENT_POLL_MS = 250;

/**
 * One ffmpeg, from spawn to exit: the "source" of mediamtx's design. It reports what it sees and never
 * retries; the supervisor decides what an exit means and what comes next.
 */
export class IngestRun {
  readonly done: Promise<RunOutcome>;
  private replan = false;

  private constructor(
    private readonly ffmpeg: FfmpegHandle,
    private readonly watcher: SegmentWatcher | null,
    problems: StderrLine[],
    inputs: { current: InputStreams | null },
  ) {
    this.done = ffmpeg.exited.then((exit) => {
      watcher?.stop();
      return { exit, problems, input: inputs.current, replan: this.replan };
    });
  }

  get pid(): number {
    return this.ffmpeg.pid;
  }

  static async start(params: IngestRunParams, events: IngestRunEvents): Promise<IngestRun> {
    const problems: StderrLine[] = [];
    const inputs: { current: InputStreams | null } = { current: null };
    const dump = new InputDumpReader();
    const watcher = params.packager
      ? null
      : new SegmentWatcher(params.outputDir, params.runId, SEGMENT_POLL_MS, (s) => events.onSegment(s));
    let run: IngestRun | null = null;
    let misfit = false;
    const onStdout = params.packager
      ? packagerFeed(params.packager, events, () => void run?.kill())
      : progressFeed(events);
    const container = params.packager ? 'fmp4-pipe' : 'hls-files';
    const ffmpeg = await startFfmpeg(buildIngestArgs({ ...params, container }), {
      onStdout,
      onStderrLine: (raw) => {
        const line = parseStderrLine(params.redact(raw));
        const streams = dump.push(line.message);
        if (streams) {
          inputs.current = streams;
          misfit = !events.onInput(streams);
          if (misfit) void run?.abandon();
        }
        if (line.level === 'error' || line.level === 'fatal' || line.level === 'warning') {
          problems.push(line);
          if (problems.length > PROBLEMS_KEPT) problems.shift();
          events.onProblem(line);
        }
      },
    });
    run = new IngestRun(ffmpeg, watcher, problems, inputs);
    if (misfit) void run.abandon();
    watcher?.start();
    return run;
  }

  /** Stops ffmpeg (SIGINT, then SIGKILL after the grace period) and resolves with the run's outcome. */
  async stop(graceMs: number): Promise<RunOutcome> {
    this.watcher?.stop();
    await this.ffmpeg.stop(graceMs);
    return this.done;
  }

  /** SIGKILL at once, leaving the output unfinished: it may be another worker's already. */
  async kill(): Promise<RunOutcome> {
    this.watcher?.stop();
    await this.ffmpeg.kill();
    return this.done;
  }

  /**
   * Ends a run whose plan does not fit the camera's streams. SIGKILL, not SIGINT: on SIGINT ffmpeg would
   * finish its segment and playlist, and players would get video in a codec they were never meant to see.
   */
  private async abandon(): Promise<RunOutcome> {
    this.replan = true;
    this.watcher?.stop();
    await this.ffmpeg.kill();
    return this.done;
  }
}

function progressFeed(events: IngestRunEvents): (chunk: Buffer) => void {
  const progress = new ProgressReader();
  return (chunk) => {
    for (const block of progress.push(chunk.toString('latin1'))) events.onProgress(block);
  };
}

/**
 * fMP4 from ffmpeg into the packager. Frames and segments are reported from the fragments themselves:
 * they are what players get, so health is built on them as it is on files in the other mode.
 */
function packagerFeed(packager: Packager, events: IngestRunEvents, end: () => void): (chunk: Buffer) => void {
  packager.on('part', () => events.onProgress(framesSoFar(packager.videoFrames)));
  packager.on('segment', (segment) =>
    events.onSegment({
      uri: segment.name,
      durationSec: segment.durationSec,
      sizeBytes: segment.parts.reduce((sum, part) => sum + part.bytes.length, 0),
      seenAtMs: Date.now(),
    }),
  );
  let failed = false;
  return (chunk) => {
    if (failed) return;
    try {
      packager.push(chunk);
    } catch (err) {
      failed = true;
      events.onBadOutput?.((err as Error).message);
      end();
    }
  };
}

function framesSoFar(frame: number): ProgressBlock {
  return {
    frame,
    averageFps: null,
    outTimeUs: null,
    dropFrames: null,
    dupFrames: null,
    speed: null,
    ended: false,
  };
}
