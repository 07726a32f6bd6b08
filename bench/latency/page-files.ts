import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * Writes the latency page into `dir`, for a server to serve: page.html, and page.js bundled with hls.js
 * and the stamp decoder as the wall's build bundles them (esbuild, minified, no CDN).
 */
export async function writeLatencyPage(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [path.join(HERE, 'page.js')],
    outfile: path.join(dir, 'page.js'),
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110'],
    logLevel: 'warning',
  });
  await copyFile(path.join(HERE, 'page.html'), path.join(dir, 'page.html'));
}
