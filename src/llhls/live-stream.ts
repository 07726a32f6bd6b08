import type { Part } from './model.js';
import { Packager } from './packager.js';
import { renderPlaylist, targetDurationSec } from './playlist-text.js';
import { type DeliveryDirective, holdLimitMs, judgeReload, type LiveEdge } from './reload.js';

export interface LiveStreamSettings {
  targetSegmentSec: number;
  partTargetSec: number;
  windowSegments: number;
}

/** What a playlist request gets: the text, a spec error, or nothing (no stream here). */
export type PlaylistAnswer =
  | { kind: 'playlist'; body: Buffer }
  | { kind: 'bad-request'; reason: string }
  | { kind: 'unavailable'; reason: string };

const PART_NAME = /^(?<run>[A-Za-z0-9]+)-(?<msn>\d+)-(?<part>\d+)\.m4s$/;

/**
 * One camera's LL-HLS output in this process, across ffmpeg runs: the current run's packager, and the
 * requests held until the live edge reaches them. Held requests wake on the packager's part events, never
 * on a timer, so a blocking reload is answered in the same tick the part completes.
 */
export class LiveStream {
  private packager: Packager | null = null;
  private lastMsn: number | null = null;
  private readonly waiters = new Set<() => void>();
  /** Rendered playlists of the current version, so viewers of one version share one Buffer. */
  private rendered = new Map<string, Buffer>();
  private closed = false;

  constructor(
    readonly cameraId: string,
    private readonly settings: LiveStreamSettings,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * A packager for a new ffmpeg run. Its media sequence carries on from the previous run's, or from the
   * clock (in target durations) when that is further on, so it keeps rising when the camera changes worker.
   */
  startRun(runId: string): Packager {
    this.packager?.end();
    const fromClock = Math.floor(this.nowMs() / 1000 / this.settings.targetSegmentSec);
    const packager = new Packager({
      runId,
      firstMsn: Math.max(fromClock, (this.lastMsn ?? -1) + 1),
      targetSegmentSec: this.settings.targetSegmentSec,
      partTargetSec: this.settings.partTargetSec,
      windowSegments: this.settings.windowSegments,
      nowMs: this.nowMs,
    });
    packager.on('part', (part: Part) => {
      this.lastMsn = part.msn;
      this.changed();
    });
    packager.on('segment', () => this.changed());
    this.packager = packager;
    this.changed();
    return packager;
  }

  /** The run is over: its window stays readable (players keep what they have) until the next run. */
  endRun(packager: Packager): void {
    if (packager !== this.packager) return;
    packager.end();
    this.changed();
  }

  /** The camera left this process: held requests are answered (with nothing), and nothing is kept. */
  close(): void {
    this.closed = true;
    this.packager?.end();
    this.packager = null;
    this.changed();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  edge(): LiveEdge | null {
    const segments = this.packager?.segments() ?? [];
    const newest = segments.at(-1);
    if (!newest) return null;
    const lastComplete = segments.findLast((s) => s.complete);
    return { msn: newest.msn, part: newest.parts.length - 1, lastCompleteMsn: lastComplete?.msn ?? null };
  }

  /** The playlist for a request, held as long as the spec allows when it asks for what is not there yet. */
  async playlist(directive: DeliveryDirective, lowLatency: boolean): Promise<PlaylistAnswer | null> {
    const deadlineMs = this.nowMs() + holdLimitMs(this.targetSec());
    for (;;) {
      const edge = this.edge();
      if (!edge) {
        if (this.closed || directive.msn === null) return null;
      } else {
        const verdict = judgeReload(directive, edge, this.settings.partTargetSec, this.partsPerSegment());
        if (verdict.kind === 'bad-request') return verdict;
        if (verdict.kind === 'now') return this.render(lowLatency, directive.skip);
      }
      if (!(await this.changeBefore(deadlineMs))) {
        return { kind: 'unavailable', reason: 'the requested part did not arrive in time' };
      }
    }
  }

  /**
   * A file of the current run. The part named by the preload hint (or one a little further) is answered
   * once it completes; a part the run will never make, or one of an earlier run, is null.
   */
  async file(name: string): Promise<Buffer | null> {
    const deadlineMs = this.nowMs() + holdLimitMs(this.targetSec());
    for (;;) {
      const packager = this.packager;
      const found = packager?.file(name);
      if (found) return found;
      if (!packager || !this.mayStillCome(packager, name)) return null;
      if (!(await this.changeBefore(deadlineMs))) return null;
    }
  }

  private mayStillCome(packager: Packager, name: string): boolean {
    const parsed = PART_NAME.exec(name)?.groups;
    const edge = this.edge();
    if (!parsed || parsed.run !== packager.runId || !edge || this.packager !== packager) return false;
    if (this.packager.ended) return false;
    const msn = Number(parsed.msn);
    const part = Number(parsed.part);
    const verdict = judgeReload(
      { msn, part, skip: false },
      edge,
      this.settings.partTargetSec,
      this.partsPerSegment(),
    );
    // A part of a segment that is already complete (or skipped past) will never be made.
    return verdict.kind === 'wait' && (msn > edge.msn || edge.lastCompleteMsn !== msn);
  }

  private render(lowLatency: boolean, skip: boolean): PlaylistAnswer | null {
    const key = `${lowLatency}:${skip}`;
    const kept = this.rendered.get(key);
    if (kept) return { kind: 'playlist', body: kept };
    const packager = this.packager;
    if (!packager) return null;
    const text = renderPlaylist(packager.playlistInput(), { lowLatency, skip });
    if (text === null) return null;
    const body = Buffer.from(text);
    this.rendered.set(key, body);
    return { kind: 'playlist', body };
  }

  private targetSec(): number {
    return targetDurationSec({
      segments: this.packager?.segments() ?? [],
      targetSegmentSec: this.settings.targetSegmentSec,
    });
  }

  private partsPerSegment(): number {
    return Math.max(1, Math.round(this.settings.targetSegmentSec / this.settings.partTargetSec));
  }

  private changed(): void {
    this.rendered = new Map();
    const woken = [...this.waiters];
    this.waiters.clear();
    for (const wake of woken) wake();
  }

  /** Resolves true at the stream's next change, false if the deadline passes first. */
  private changeBefore(deadlineMs: number): Promise<boolean> {
    const waitMs = deadlineMs - this.nowMs();
    if (waitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, waitMs);
      this.waiters.add(wake);
    });
  }
}
