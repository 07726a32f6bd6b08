import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  argv: string[];
}

/** The process table, read from /proc (Linux). Processes that exit while it is read are left out. */
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

/** ffmpeg processes whose arguments name a file under `dir`. */
export function ffmpegWritingUnder(table: readonly ProcessInfo[], dir: string): ProcessInfo[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return table.filter((p) => p.argv[0]?.endsWith('ffmpeg') && p.argv.some((arg) => arg.startsWith(prefix)));
}
