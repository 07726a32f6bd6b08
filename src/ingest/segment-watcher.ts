import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { PLAYLIST_NAME } from './ffmpeg-args.js';
import { parseMediaPlaylist } from './playlist.js';

export interface SegmentWritten {
  uri: string;
  durationSec: number;
  sizeBytes: number;
  /** When the watcher saw the playlist that listed it. */
  seenAtMs: number;
}

/**
 * Watches what ffmpeg actually wrote: polls the playlist's mtime and reports each new segment of this run.
 * Health is built on these files, not on the process being alive. Polling a stat is cheap and, unlike
 * inotify, also works on shared volumes.
 */
export class SegmentWatcher {
  private timer: NodeJS.Timeout | null = null;
  private lastMtimeMs = 0;
  private readonly seen = new Set<string>();
  private busy = false;

  constructor(
    private readonly dir: string,
    private readonly runId: string,
    private readonly pollMs: number,
    private readonly onSegment: (segment: SegmentWritten) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.check();
    } catch {
      // The playlist is missing until the first segment, and briefly replaced on every update.
    } finally {
      this.busy = false;
    }
  }

  private async check(): Promise<void> {
    const file = path.join(this.dir, PLAYLIST_NAME);
    const { mtimeMs } = await stat(file);
    if (mtimeMs === this.lastMtimeMs) return;
    const playlist = parseMediaPlaylist(await readFile(file, 'utf8'));
    this.lastMtimeMs = mtimeMs;
    if (!playlist) return;
    const ours = playlist.segments.filter((segment) => segment.uri.startsWith(`${this.runId}-`));
    for (const segment of ours) {
      if (this.seen.has(segment.uri)) continue;
      this.seen.add(segment.uri);
      const { size } = await stat(path.join(this.dir, segment.uri)).catch(() => ({ size: 0 }));
      this.onSegment({
        uri: segment.uri,
        durationSec: segment.durationSec,
        sizeBytes: size,
        seenAtMs: Date.now(),
      });
    }
    const current = new Set(ours.map((segment) => segment.uri));
    for (const uri of this.seen) if (!current.has(uri)) this.seen.delete(uri);
  }
}
