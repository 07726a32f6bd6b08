import { mkdir, readdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CAMERA_ID_PATTERN } from '../cameras/camera.js';
import { PLAYLIST_NAME } from './ffmpeg-args.js';

/** A camera's HLS folder. The id pattern admits no separators, so the result always lies inside `hlsRoot`. */
export function outputDirFor(hlsRoot: string, cameraId: string): string {
  if (!CAMERA_ID_PATTERN.test(cameraId)) throw new Error(`not a camera id: ${JSON.stringify(cameraId)}`);
  return path.join(hlsRoot, cameraId);
}

export async function ensureOutputDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
}

export async function clearOutput(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Deletes what earlier runs left behind (their segments are no longer in the playlist) once the current run
 * has written its own playlist, so players switch over without ever meeting a missing file.
 */
export async function pruneOtherRuns(dir: string, runId: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name === PLAYLIST_NAME || name.startsWith(`${runId}-`)) continue;
    await unlink(path.join(dir, name)).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}

/** Folders in `hlsRoot` that look like camera output, for the start-up sweep of cameras that no longer exist. */
export async function listOutputDirs(hlsRoot: string): Promise<string[]> {
  const entries = await readdir(hlsRoot, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && CAMERA_ID_PATTERN.test(entry.name))
    .map((e) => e.name);
}
