/**
 * The one module that touches fluent-ffmpeg (archived upstream in 2025): if it has to go, only this file
 * changes. It never attaches fluent's `progress` listener, which would run an extra ffprobe against the camera;
 * progress comes from `-progress pipe:1` instead.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import ffmpeg from 'fluent-ffmpeg';
import { Errors } from '../errors.js';
import type { FfmpegArgs } from './ffmpeg-args.js';

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface FfmpegHandle {
  readonly pid: number;
  readonly exited: Promise<FfmpegExit>;
  /** SIGINT, so ffmpeg closes its outputs and the RTSP session; SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs: number): Promise<FfmpegExit>;
  /** SIGKILL at once: for output that must not be finished (written with a trailer). */
  kill(): Promise<FfmpegExit>;
}

export interface FfmpegIo {
  onStderrLine(line: string): void;
  /** stdout as it arrives: progress text, or the media itself when the output is `pipe:1`. */
  onStdout(chunk: Buffer): void;
}

const LEASH = fileURLToPath(new URL('../../bin/ffmpeg-leash', import.meta.url));

/** The ffmpeg binary: FFMPEG_PATH if set, else the first on PATH. Throws CAMRELAY_ERR_FFMPEG_NOT_FOUND. */
export function resolveFfmpegPath(configured: string | undefined, envPath = process.env.PATH ?? ''): string {
  const candidates = configured
    ? [configured]
    : envPath.split(path.delimiter).map((dir) => path.join(dir, 'ffmpeg'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return path.resolve(candidate);
    } catch {
      // try the next one
    }
  }
  throw new Errors.FFMPEG_NOT_FOUND(
    configured ? `FFMPEG_PATH=${configured} is not executable` : 'not on PATH',
  );
}

/**
 * Points fluent-ffmpeg at ffmpeg through the leash (bin/ffmpeg-leash) and loads its capability tables once,
 * which also proves ffmpeg runs. fluent keeps both globally, so this runs once per process, before any ingest.
 */
export async function configureFfmpeg(ffmpegPath: string): Promise<void> {
  process.env.CAMRELAY_FFMPEG_BIN = ffmpegPath;
  ffmpeg.setFfmpegPath(LEASH);
  await new Promise<void>((resolve, reject) =>
    ffmpeg.getAvailableFormats((err) => (err ? reject(new Errors.FFMPEG_NOT_FOUND(err.message)) : resolve())),
  );
  await new Promise<void>((resolve, reject) =>
    ffmpeg.getAvailableEncoders((err) =>
      err ? reject(new Errors.FFMPEG_NOT_FOUND(err.message)) : resolve(),
    ),
  );
}

/** Spawns ffmpeg with `args`; resolves once the process exists. Its output goes to `io`, unredacted. */
export function startFfmpeg(args: FfmpegArgs, io: FfmpegIo): Promise<FfmpegHandle> {
  return new Promise((resolve, reject) => {
    let started = false;
    // Media on stdout goes through fluent's output stream: otherwise fluent would keep stdout as text lines.
    const media = args.output === 'pipe:1' ? stdoutSink(io) : null;
    const command = ffmpeg(args.input)
      .inputOptions(args.inputOptions)
      .output(media ?? args.output)
      .outputOptions(args.outputOptions)
      .on('stderr', (line: string) => io.onStderrLine(line))
      .on('start', () => {
        const child = (command as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
        if (!child?.pid) return;
        started = true;
        if (!media) child.stdout?.on('data', (chunk: Buffer) => io.onStdout(chunk));
        resolve(handleFor(child));
      })
      // fluent's error text quotes stderr, URL and all: never surface it; exits are read from the process.
      .on('error', (err: Error) => {
        if (!started) reject(new Error(`ffmpeg did not start: ${err.message.split('\n')[0]}`));
      });
    command.run();
  });
}

function stdoutSink(io: FfmpegIo): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      io.onStdout(chunk);
      done();
    },
  });
}

function handleFor(child: ChildProcess): FfmpegHandle {
  const exited = new Promise<FfmpegExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stopping: Promise<FfmpegExit> | null = null;
  return {
    pid: child.pid as number,
    exited,
    stop(graceMs) {
      stopping ??= stopChild(child, exited, graceMs);
      return stopping;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<FfmpegExit>,
  graceMs: number,
): Promise<FfmpegExit> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<'grace-over'>((resolve) => {
    timer = setTimeout(() => resolve('grace-over'), graceMs);
  });
  const first = await Promise.race([exited, graceOver]);
  clearTimeout(timer);
  if (first === 'grace-over') child.kill('SIGKILL');
  return exited;
}
