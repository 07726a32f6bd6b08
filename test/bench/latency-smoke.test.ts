import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CASE_IDS = ['classic', 'nginx', 'll-all', 'll-relay', 'wall-h2', 'wall-h1'];

/**
 * The latency benchmark in smoke mode (a few seconds a case), as `npm run bench:smoke` runs it: every case
 * starts, plays in Chromium and yields readable stamps, so the benchmark the README's figures come from keeps
 * working. It measures nothing here: its figures on a machine busy with the other tests mean nothing.
 */
describe('the latency benchmark, in smoke mode', () => {
  it('plays every case in Chromium, reads stamps off the frames, times parts, and prints its tables', async () => {
    const { code, stdout, stderr } = await run('npx', ['tsx', 'bench/latency.ts'], { BENCH_SMOKE: '1' });
    expect(code, stderr.slice(-2000)).toBe(0);
    for (const id of CASE_IDS) {
      const row = stdout.split('\n').find((line) => line.startsWith(`| ${id} `));
      expect(row, `no table row for ${id}`).toBeDefined();
      // p50 and p95 in ms: present and plausible for a live player (not 0, not minutes).
      const figures = [...(row ?? '').matchAll(/\| (\d+) ms /g)].map((m) => Number(m[1]));
      expect(figures.length, row).toBeGreaterThanOrEqual(2);
      for (const ms of figures.slice(0, 2)) expect(ms).toBeGreaterThan(50);
    }
    expect(stdout).toMatch(/\| camrelay all, ll \| \d+ \|/);
  }, 240_000);
});

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
