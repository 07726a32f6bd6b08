import type { StderrLine } from './stderr-line.js';

export type FailureStatus = 'offline' | 'auth_failed' | 'unsupported';

export interface Failure {
  status: FailureStatus;
  /** Readable cause for health's lastError. Built from redacted stderr only. */
  reason: string;
}

export interface ExitReport {
  exitCode: number | null;
  signal: string | null;
  /** The last error and warning lines of the run, already redacted. */
  problems: readonly StderrLine[];
  /** Whether ffmpeg reported any video stream in its input. */
  sawVideo: boolean | null;
}

const RULES: ReadonlyArray<{ status: FailureStatus; pattern: RegExp }> = [
  { status: 'auth_failed', pattern: /\b(401|403)\b|Unauthorized|Forbidden|authorization failed/i },
  {
    status: 'unsupported',
    pattern:
      /matches no streams|Decoder \(codec [^)]*\) not found|Unsupported codec|could not find codec parameters|no decoder/i,
  },
  {
    status: 'offline',
    pattern:
      /\b404\b|Not Found|Connection refused|timed out|timeout|No route to host|Network is unreachable|Connection reset|End of file|Broken pipe|Name or service not known|Temporary failure in name resolution|Server returned|Invalid data found|method \w+ failed/i,
  },
];

/**
 * Why an ingest run ended (pure). Authentication first, because a 401 also reads like a failed request;
 * then streams ffmpeg cannot use; everything else counts as the camera being unreachable.
 */
export function classifyExit(report: ExitReport): Failure {
  const errors = report.problems.filter((line) => line.level === 'error' || line.level === 'fatal');
  const lines = errors.length > 0 ? errors : report.problems;
  for (const rule of RULES) {
    const hit = [...lines].reverse().find((line) => rule.pattern.test(line.message));
    if (hit) return { status: rule.status, reason: describe(hit) };
  }
  if (report.sawVideo === false) return { status: 'unsupported', reason: 'the source has no video stream' };
  // A warning says nothing of why a run ended (a timestamp fix-up, say): only an error may be the reason.
  const lastError = errors.at(-1);
  if (lastError) return { status: 'offline', reason: describe(lastError) };
  // A camera that goes away over TCP ends ffmpeg's input like a finished file: exit 0, no error.
  if (report.exitCode === 0) return { status: 'offline', reason: 'the camera ended the stream' };
  const how = report.signal ? `was killed by ${report.signal}` : `exited with code ${report.exitCode}`;
  return { status: 'offline', reason: `ffmpeg ${how}` };
}

function describe(line: StderrLine): string {
  const text = line.component ? `${line.component}: ${line.message}` : line.message;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
