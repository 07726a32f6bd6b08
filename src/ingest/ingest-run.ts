import { type FfmpegExit, type FfmpegHandle, startFfmpeg } from './ffmpeg.js';
import { buildIngestArgs, type IngestArgsInput } from './ffmpeg-args.js';
import { InputDumpReader, type InputStreams } from './input-streams.js';
import { type ProgressBlock, ProgressReader } from './progress.js';
import { SegmentWatcher, type SegmentWritten } from './segment-watcher.js';
import { parseStderrLine, type StderrLine } from './stderr-line.js';

export interface IngestRunParams extends IngestArgsInput {
  /** Masks credentials in a line of ffmpeg's stderr; the run sees no other text from ffmpeg. */
  redact: (text: string) => string;
}

export interface IngestRunEvents {
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
    private readonly watcher: SegmentWatcher,
    problems: StderrLine[],
    inputs: { current: InputStreams | null },
  ) {
    this.done = ffmpeg.exited.then((exit) => {
      watcher.stop();
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
    const progress = new ProgressReader();
    const watcher = new SegmentWatcher(params.outputDir, params.runId, SEGMENT_POLL_MS, (s) =>
      events.onSegment(s),
    );
    let run: IngestRun | null = null;
    let misfit = false;
    const ffmpeg = await startFfmpeg(buildIngestArgs(params), {
      onStdout: (chunk) => {
        for (const block of progress.push(chunk)) events.onProgress(block);
      },
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
    watcher.start();
    return run;
  }

  /** Stops ffmpeg (SIGINT, then SIGKILL after the grace period) and resolves with the run's outcome. */
  async stop(graceMs: number): Promise<RunOutcome> {
    this.watcher.stop();
    await this.ffmpeg.stop(graceMs);
    return this.done;
  }

  /** SIGKILL at once, leaving the output unfinished: it may be another worker's already. */
  async kill(): Promise<RunOutcome> {
    this.watcher.stop();
    await this.ffmpeg.kill();
    return this.done;
  }

  /**
   * Ends a run whose plan does not fit the camera's streams. SIGKILL, not SIGINT: on SIGINT ffmpeg would
   * finish its segment and playlist, and players would get video in a codec they were never meant to see.
   */
  private async abandon(): Promise<RunOutcome> {
    this.replan = true;
    this.watcher.stop();
    await this.ffmpeg.kill();
    return this.done;
  }
}
