import type { ChildProcess } from 'node:child_process';
import { processTable } from '../../src/ingest/process-table.js';

/** Every process below `pid` (children, their children, …), from /proc. */
export function descendants(pid: number): number[] {
  const table = processTable();
  const found: number[] = [];
  let parents = [pid];
  while (parents.length > 0) {
    const children = table.filter((p) => parents.includes(p.ppid)).map((p) => p.pid);
    found.push(...children);
    parents = children;
  }
  return found;
}

/** Asks a child to stop with `signal` (its own clean stop), SIGKILLs it after `graceMs`, and waits for the exit. */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGINT',
  graceMs = 5000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
