#!/usr/bin/env node
// Builds the wall page (web/wall) into dist/web: one bundled, minified script with hls.js inside (never a
// CDN), the stylesheet and the page. esbuild: one small dependency, no configuration files.
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const source = path.join(root, 'web', 'wall');
const out = path.join(root, 'dist', 'web');

await mkdir(out, { recursive: true });
await build({
  entryPoints: [path.join(source, 'main.ts')],
  outfile: path.join(out, 'wall.js'),
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  logLevel: 'warning',
});
for (const file of ['index.html', 'wall.css']) await copyFile(path.join(source, file), path.join(out, file));
