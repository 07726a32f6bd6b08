import type { Logger } from '../log.js';
import { ffmpegWritingUnder, type ProcessInfo, processTable } from './process-table.js';

/**
 * ffmpeg processes writing under `hlsRoot` that no camrelay owns: their parent is gone (they were
 * re-parented to init or a subreaper) or is not a Node process. The ffmpeg leash makes these rare (it
 * misses only an ffmpeg whose worker died in the instant between fork and exec), but a worker must never
 * start next to one, since two writers in one folder corrupt the stream. A live worker sharing the folder
 * is a Node parent, so its ffmpeg are left alone.
 */
export function findOrphans(table: readonly ProcessInfo[], hlsRoot: string): ProcessInfo[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  return ffmpegWritingUnder(table, hlsRoot).filter((ffmpeg) => {
    const parent = byPid.get(ffmpeg.ppid);
    return ffmpeg.ppid === 1 || !parent || !/(^|\/)node(js)?$/.test(parent.argv[0] ?? '');
  });
}

/** Kills orphaned ffmpeg under `hlsRoot` (SIGKILL: nobody waits for their output). Returns their pids. */
export function killOrphans(hlsRoot: string, log: Logger): number[] {
  const orphans = findOrphans(processTable(), hlsRoot);
  for (const orphan of orphans) {
    try {
      process.kill(orphan.pid, 'SIGKILL');
      log.warn(
        { ffmpegPid: orphan.pid, parentPid: orphan.ppid },
        'killed an orphaned ffmpeg writing into HLS_ROOT',
      );
    } catch {
      // gone already
    }
  }
  return orphans.map((orphan) => orphan.pid);
}
