import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Camera kinds the fixture serves: video codec, optionally with an audio codec. `stamp` is H.264 with the
 * epoch milliseconds each frame was made at written into its top rows (bench/latency/stamp.ts reads them).
 */
export type CameraKind = 'h264' | 'h265' | `${'h264' | 'h265'}+${'pcma' | 'pcmu' | 'aac'}` | 'stamp';

export interface RtspCamerasOptions {
  mounts: ReadonlyArray<{ name: string; kind: CameraKind }>;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** With both set, every mount asks for basic auth. */
  user?: string;
  password?: string;
}

export interface RtspCameras {
  readonly host: string;
  readonly port: number;
  readonly pid: number;
  /** rtsp://[user:password@]host:port/name; credentials are URL-encoded. */
  url(name: string, credentials?: { user: string; password: string }): string;
  /** Freezes a mount: the RTSP session stays open but no frames flow. */
  pause(name: string): Promise<void>;
  resume(name: string): Promise<void>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('../../fixtures/rtsp-cameras.py', import.meta.url));
/** Debian's python3: the one with GStreamer's bindings (python3-gi), whatever else is first on PATH. */
const PYTHON = '/usr/bin/python3';
const START_TIMEOUT_MS = 15_000;
const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Real RTSP cameras from GStreamer's RTSP server (fixtures/rtsp-cameras.py), for the demo and the tests.
 * The server exits when its stdin closes, so it never outlives the process that started it.
 */
export async function startRtspCameras(options: RtspCamerasOptions): Promise<RtspCameras> {
  const host = options.host ?? '127.0.0.1';
  const args = [SCRIPT, '--host', host, '--port', String(options.port ?? 0)];
  for (const mount of options.mounts) args.push('--mount', `${mount.name}:${mount.kind}`);
  if (options.user !== undefined) args.push('--user', options.user, '--password', options.password ?? '');
  const child = spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const ready = (await firstLine(lines, child, () => stderr)) as { port: number };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    host,
    port: ready.port,
    pid: child.pid as number,
    url(name, credentials) {
      const auth = credentials
        ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@`
        : '';
      return `rtsp://${auth}${host.includes(':') ? `[${host}]` : host}:${ready.port}/${name}`;
    },
    pause: (name) => command(child, lines, `pause ${name}`),
    resume: (name) => command(child, lines, `resume ${name}`),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function firstLine(lines: Interface, child: ChildProcess, stderr: () => string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no answer within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onExit = () => fail(new Error(`exited: ${stderr().trim() || 'no output'}`));
    function fail(err: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`RTSP test cameras did not start: ${err.message} (needs scripts/setup.sh)`));
    }
    child.once('exit', onExit);
    child.once('error', (err) => fail(err));
    lines.once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      try {
        resolve(JSON.parse(line));
      } catch {
        fail(new Error(`unexpected output: ${line}`));
      }
    });
  });
}

/** A command to the camera server; one that gets no answer fails rather than hangs its caller. */
function command(child: ChildProcess, lines: Interface, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      clearTimeout(timer);
      const answer = JSON.parse(line) as { ok: boolean; error?: string };
      if (answer.ok) resolve();
      else reject(new Error(answer.error ?? `command failed: ${text}`));
    };
    const timer = setTimeout(() => {
      lines.off('line', onLine);
      reject(new Error(`RTSP test cameras did not answer "${text}" within ${COMMAND_TIMEOUT_MS} ms`));
    }, COMMAND_TIMEOUT_MS);
    lines.once('line', onLine);
    child.stdin?.write(`${text}\n`);
  });
}
