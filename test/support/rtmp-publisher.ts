import { type ChildProcess, spawn } from 'node:child_process';

export interface RtmpPublisher {
  child: ChildProcess;
  /** What ffmpeg wrote to stderr. */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its exit if it comes within `ms`, else null (and it keeps running). */
  exitWithin(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>;
  /** Stops it (SIGKILL: a field encoder that loses its link says no goodbye) and waits for the exit. */
  kill(): Promise<void>;
}

const started: ChildProcess[] = [];

/**
 * A field encoder as camrelay meets it: ffmpeg publishing a test pattern and a tone (H.264 + AAC, one
 * keyframe a second) over RTMP(S), in real time, until stopped or `durationSec` runs out.
 */
export function publishTestPattern(url: string, { durationSec = 300 } = {}): RtmpPublisher {
  const child = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=25:duration=${durationSec}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${durationSec}`],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-tune',
        'zerolatency',
        '-g',
        '25',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  started.push(child);
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output,
    exited,
    exitWithin: (ms) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      });
      return Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Leaves no publisher behind a failed test. */
export function killPublishers(): void {
  for (const child of started)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
