import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const TICKS_PER_SEC = 100;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SEC;
}

/** Resident and proportional set size, in MB (PSS splits shared pages between the processes sharing them). */
export function memoryMb(pid: number): { rssMb: number; pssMb: number } {
  const kb = (text: string, key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return { rssMb: kb(status, 'VmRSS') / 1024, pssMb: kb(rollup, 'Pss') / 1024 };
}

export interface Usage {
  cpuPercentOfCore: number;
  rssMb: number;
  pssMb: number;
}

/** Samples processes side by side over the same window, so they see the same machine load. */
export async function measure(pids: Record<string, number>, seconds: number): Promise<Record<string, Usage>> {
  const start = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]));
  const t0 = process.hrtime.bigint();
  const memory: Record<string, Array<{ rssMb: number; pssMb: number }>> = Object.fromEntries(
    Object.keys(pids).map((name) => [name, []]),
  );
  for (let i = 0; i < seconds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const [name, pid] of Object.entries(pids)) memory[name]?.push(memoryMb(pid));
  }
  const elapsedSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const result: Record<string, Usage> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const samples = memory[name] ?? [];
    result[name] = {
      cpuPercentOfCore: ((cpuSeconds(pid) - (start[name] ?? 0)) / elapsedSec) * 100,
      rssMb: median(samples.map((s) => s.rssMb)),
      pssMb: median(samples.map((s) => s.pssMb)),
    };
  }
  return result;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
