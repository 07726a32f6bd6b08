import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../test/support/ports.js';
import { descendants, stopChild } from './processes.js';

export interface Nginx {
  /** http://127.0.0.1:PORT */
  url: string;
  pid: number;
  /** PIDs of the master and its workers, for CPU and memory sampling. */
  pids(): number[];
  stop(): Promise<void>;
}

const NGINX = '/usr/sbin/nginx';

/**
 * Debian's nginx as the baseline a user would otherwise run: `workers` worker processes serving `root` on a
 * loopback port (its workers as this user, so they read what the benchmark wrote), sendfile on, no access log, HLS types and the cache headers camrelay sends. It runs in the
 * foreground under this process, with its configuration, pid and logs in a temporary folder of its own.
 * (scripts/setup-bench.sh installs it.)
 */
export async function startNginx({ root, workers = 2 }: { root: string; workers?: number }): Promise<Nginx> {
  const dir = await mkdtemp(path.join(tmpdir(), 'camrelay-nginx-'));
  const port = await freePort();
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(
    conf,
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes ${workers};
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  types {
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
    text/html html;
    application/javascript js;
  }
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location ~ \\.m3u8$ { add_header Cache-Control "no-cache"; add_header Access-Control-Allow-Origin *; }
    location ~ \\.ts$ { add_header Cache-Control "max-age=30"; add_header Access-Control-Allow-Origin *; }
  }
}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await untilListening(port, child, () => stderr);
  const pid = child.pid as number;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    pids: () => [pid, ...descendants(pid)],
    async stop() {
      await stopChild(child, 'SIGQUIT'); // nginx's graceful stop
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function untilListening(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr()}`);
    const open = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${stderr()}`);
}
