import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** No Docker engine runs here, so the deployment files are checked the ways that need none. */
describe('deployment files', () => {
  it('docker-compose.yml passes docker-compose config, and refuses to run without its secrets', async () => {
    const run = (env: Record<string, string>) =>
      promisify(execFile)('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', ...env },
      });
    await expect(run({})).rejects.toThrow(/set CAMRELAY_SECRET_KEY/);
    const { stdout } = await run({
      CAMRELAY_SECRET_KEY: 'ab'.repeat(32),
      CAMRELAY_ADMIN_TOKEN: 'x'.repeat(40),
      CAMERA_NETWORKS: '10.20.0.0/16',
    });
    expect(stdout).toMatch(/CAMERA_NETWORKS: 10.20.0.0\/16/);
    for (const service of ['redis:', 'relay:', 'worker:', 'push:']) expect(stdout).toContain(`  ${service}`);
    expect(stdout).toMatch(/--appendonly\s*\n\s*- "yes"/);
    expect(stdout).toMatch(/condition: service_healthy/);
    expect(stdout).toMatch(/published: "?1935"?\s*\n\s*target: 1935|1935:1935/);
    expect(stdout).toMatch(/RTMP_ADVERTISE_URL: rtmp:\/\/push:1935/);
  });

  it('the Dockerfile copies only files that exist, and runs the CLI', () => {
    const dockerfile = readFileSync(`${root}docker/Dockerfile`, 'utf8');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
      (m[1] ?? '').split(/\s+/),
    );
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(existsSync(`${root}${source}`), source).toBe(true);
    expect(dockerfile).toMatch(/ENTRYPOINT \["node", "dist\/main.js"\]/);
    expect(dockerfile).toMatch(/apt-get install[^\n]*ffmpeg/);
  });
});
