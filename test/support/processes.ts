import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ffmpegWritingUnder, processTable } from '../../src/ingest/process-table.js';

export { type ProcessInfo, processTable } from '../../src/ingest/process-table.js';

/** ffmpeg processes writing into `dir`: what is really running, whatever camrelay believes. */
export function ffmpegWritingInto(dir: string) {
  return ffmpegWritingUnder(processTable(), dir);
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
