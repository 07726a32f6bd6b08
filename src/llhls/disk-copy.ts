import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PLAYLIST_NAME } from '../ingest/ffmpeg-args.js';
import { pruneOtherRuns } from '../ingest/output-dir.js';
import type { Logger } from '../log.js';
import type { Segment } from './model.js';
import type { Packager } from './packager.js';
import { renderPlaylist } from './playlist-text.js';

/**
 * Writes what the packager makes to a folder as classic HLS: the init segment, each complete segment, and
 * a playlist of whole segments. For a volume shared with other hosts, or for recording; players on this
 * host are served from memory. Writes go one at a time, each file renamed into place complete.
 */
export class DiskCopy {
  private chain: Promise<void> = Promise.resolve();
  private written: string[] = [];
  private initWritten = false;

  constructor(
    private readonly dir: string,
    private readonly packager: Packager,
    private readonly log: Logger,
  ) {
    packager.on('segment', (segment: Segment) => {
      this.chain = this.chain
        .then(() => this.write(segment))
        .catch((err: unknown) => this.log.warn({ err }, 'could not write a segment to disk'));
    });
  }

  /** Resolves once every write asked for so far is done. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private async write(segment: Segment): Promise<void> {
    const init = this.packager.init;
    const bytes = this.packager.file(segment.name);
    if (!init || !bytes) return;
    if (!this.initWritten) {
      await this.put(this.packager.initName, init);
      await pruneOtherRuns(this.dir, this.packager.runId);
      this.initWritten = true;
    }
    await this.put(segment.name, bytes);
    this.written.push(segment.name);
    const listed = new Set(this.packager.segments().map((s) => s.name));
    await this.put(PLAYLIST_NAME, Buffer.from(this.playlist()));
    const gone = this.written.filter((name) => !listed.has(name));
    this.written = this.written.filter((name) => listed.has(name));
    for (const name of gone) await unlink(path.join(this.dir, name)).catch(() => undefined);
  }

  private playlist(): string {
    const input = { ...this.packager.playlistInput(), nextPartName: null };
    return renderPlaylist(input, { lowLatency: false, skip: false }) ?? '';
  }

  private async put(name: string, body: Buffer): Promise<void> {
    const target = path.join(this.dir, name);
    const temporary = `${target}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, target);
  }
}
