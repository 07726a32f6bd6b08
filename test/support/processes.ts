import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

/** The process table, read from /proc: what is really running, whatever camrelay believes. */
export function processTable(): ProcessInfo[] {
  const table: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (argv.length > 0) table.push({ pid: Number(entry), ppid, argv });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/** ffmpeg processes writing into `dir` (their output arguments name it). */
export function ffmpegWritingInto(dir: string): ProcessInfo[] {
  return processTable().filter(
    (p) => p.argv[0]?.endsWith('ffmpeg') && p.argv.some((arg) => arg.startsWith(`${dir}/`)),
  );
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
}

/** ffprobe's view of a file: the independent check that a segment holds what we claim. */
export async function ffprobe(file: string): Promise<ProbedStream[]> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    '-v',
    'error',
    '-show_streams',
    '-of',
    'json',
    file,
  ]);
  return (JSON.parse(stdout) as { streams: ProbedStream[] }).streams;
}
