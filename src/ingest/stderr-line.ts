/**
 * One line of ffmpeg's stderr under `-loglevel level+info`, e.g.
 *   [rtsp @ 0x55ae53b6c9c0] [error] method DESCRIBE failed: 401 Unauthorized
 *   [info]   Stream #0:0: Video: h264 (High), yuv420p, 640x360, 25 fps
 */
export interface StderrLine {
  level: 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'verbose' | 'debug' | 'trace' | 'unknown';
  /** The component that logged it (rtsp, hls, tcp, libx264 …), without its address. */
  component: string | null;
  message: string;
}

const LINE =
  /^(?:\[([\w-]+) @ 0x[0-9a-f]+\] )?(?:\[(panic|fatal|error|warning|info|verbose|debug|trace)\] ?)?(.*)$/;

export function parseStderrLine(line: string): StderrLine {
  const match = LINE.exec(line);
  return {
    level: (match?.[2] as StderrLine['level'] | undefined) ?? 'unknown',
    component: match?.[1] ?? null,
    message: match?.[3] ?? line,
  };
}
