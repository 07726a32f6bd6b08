import { EventEmitter } from 'node:events';
import {
  Fmp4Splitter,
  type FragmentInfo,
  type InitInfo,
  parseFragment,
  parseInit,
  videoTrackOf,
} from './fmp4.js';
import type { PackagerOptions, Part, Segment } from './model.js';
import type { PlaylistInput } from './playlist-text.js';

/**
 * Turns one ffmpeg run's fragmented MP4 into a rolling window of LL-HLS parts and segments. Pure: no timers,
 * no I/O; the caller pushes stdout bytes and renders playlists from `segments()`.
 */
export class Packager extends EventEmitter<{ part: [Part]; segment: [Segment] }> {
  readonly initName: string;

  private readonly options: Readonly<PackagerOptions>;
  private readonly nowMs: () => number;
  private readonly splitter = new Fmp4Splitter();
  private initBytes: Buffer | null = null;
  private initInfo: InitInfo | null = null;
  private window: Segment[] = [];
  private readonly partsByName = new Map<string, Part>();
  private readonly segmentBytesByName = new Map<string, Buffer>();
  private nextMsn: number;
  /** Fragments without video samples; their (audio) bytes ride along with the next part. */
  private carriedBytes: Buffer[] = [];
  private anchor: { wallMs: number; startSec: number } | null = null;
  private isEnded = false;
  private videoFramesSeen = 0;
  private bytesSeen = 0;

  constructor(options: PackagerOptions) {
    super();
    this.options = Object.freeze(validated(options));
    this.nowMs = options.nowMs ?? Date.now;
    this.initName = `${options.runId}-init.mp4`;
    this.nextMsn = options.firstMsn;
  }

  /** The init segment (ftyp+moov), once ffmpeg has written it. */
  get init(): Buffer | null {
    return this.initBytes;
  }

  get runId(): string {
    return this.options.runId;
  }

  /** end() was called: no more parts will come. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Video frames ffmpeg delivered, including any before the first keyframe (for fps health). */
  get videoFrames(): number {
    return this.videoFramesSeen;
  }

  /** Bytes ffmpeg wrote (for bitrate health). */
  get bytesTotal(): number {
    return this.bytesSeen;
  }

  /** Bytes from ffmpeg's stdout. Throws on malformed fMP4; the run cannot go on after that. */
  push(chunk: Buffer): void {
    if (this.isEnded) throw new Error('packager: push() after end()');
    this.bytesSeen += chunk.length;
    for (const piece of this.splitter.push(chunk)) {
      if (piece.type === 'init') this.acceptInit(piece.bytes);
      else this.acceptFragment(piece.bytes);
    }
  }

  /** The run is over: the open segment is complete as it stands. Bytes of an unfinished fragment are dropped. */
  end(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    const open = this.openSegment();
    if (open) this.complete(open);
  }

  /** The window, oldest first; the last segment is open while the run goes on. */
  segments(): readonly Segment[] {
    return this.window;
  }

  /** The init, a part (`<runId>-<msn>-<index>.m4s`) or a complete segment (`<runId>-<msn>.m4s`) of the window. */
  file(name: string): Buffer | null {
    if (name === this.initName) return this.init;
    return this.partsByName.get(name)?.bytes ?? this.segmentBytes(name);
  }

  /** What a playlist of this run is rendered from (playlist-text.ts). */
  playlistInput(): PlaylistInput {
    return {
      initName: this.initName,
      segments: this.window,
      targetSegmentSec: this.options.targetSegmentSec,
      partTargetSec: this.options.partTargetSec,
      nextPartName: this.nextPartName(),
    };
  }

  /**
   * The name the next part will most likely have, for EXT-X-PRELOAD-HINT; null once the run has ended.
   * Whether it opens a new segment depends on a keyframe not seen yet, so it is guessed from the last GOP.
   */
  nextPartName(): string | null {
    if (this.isEnded) return null;
    const open = this.openSegment();
    if (!open || this.expectsNewSegment(open)) return `${this.options.runId}-${this.nextMsn}-0.m4s`;
    return `${this.options.runId}-${open.msn}-${open.parts.length}.m4s`;
  }

  private expectsNewSegment(open: Segment): boolean {
    if (open.durationSec < this.minimumSegmentSec()) return false;
    const previous = this.window.at(-2);
    return !previous || open.durationSec + this.options.partTargetSec / 2 >= previous.durationSec;
  }

  private acceptInit(bytes: Buffer): void {
    const info = parseInit(bytes);
    videoTrackOf(info); // a run without video has no timeline to cut parts on: fail now, not per fragment
    this.initInfo = info;
    this.initBytes = bytes;
  }

  private acceptFragment(bytes: Buffer): void {
    if (!this.initInfo) throw new Error('packager: fragment before the init segment');
    const info = parseFragment(bytes, this.initInfo);
    if (!info) {
      this.carriedBytes.push(bytes);
      return;
    }
    this.videoFramesSeen += info.videoFrames;
    const withCarried = this.carriedBytes.length > 0 ? Buffer.concat([...this.carriedBytes, bytes]) : bytes;
    this.carriedBytes = [];
    this.addPart(withCarried, info);
  }

  private addPart(bytes: Buffer, info: FragmentInfo): void {
    const open = this.openSegment();
    if (!open && !info.independent) return; // a player cannot start decoding before the first keyframe
    const segment = open && !this.startsNewSegment(open, info) ? open : this.startSegment(info, open);
    const part: Part = {
      msn: segment.msn,
      index: segment.parts.length,
      name: `${this.options.runId}-${segment.msn}-${segment.parts.length}.m4s`,
      bytes,
      durationSec: info.durationSec,
      startSec: info.startSec,
      independent: info.independent,
      videoFrames: info.videoFrames,
      completedAtMs: this.nowMs(),
    };
    segment.parts.push(part);
    segment.durationSec += part.durationSec;
    this.partsByName.set(part.name, part);
    this.emit('part', part);
  }

  private startsNewSegment(open: Segment, info: FragmentInfo): boolean {
    return info.independent && open.durationSec >= this.minimumSegmentSec();
  }

  /** Half a part of slack, so a GOP that is a hair shorter than the target still closes the segment on time. */
  private minimumSegmentSec(): number {
    return this.options.targetSegmentSec - this.options.partTargetSec / 2;
  }

  private startSegment(info: FragmentInfo, previous: Segment | null): Segment {
    if (previous) this.complete(previous);
    const anchor = this.anchorAt(info.startSec);
    const msn = this.nextMsn++;
    const segment: Segment = {
      msn,
      name: `${this.options.runId}-${msn}.m4s`,
      parts: [],
      durationSec: 0,
      programDateTimeMs: anchor.wallMs + (info.startSec - anchor.startSec) * 1000,
      complete: false,
    };
    this.window.push(segment);
    return segment;
  }

  private anchorAt(startSec: number): { wallMs: number; startSec: number } {
    this.anchor ??= { wallMs: this.nowMs(), startSec };
    return this.anchor;
  }

  private complete(segment: Segment): void {
    segment.complete = true;
    this.emit('segment', segment);
    this.trimWindow();
  }

  private trimWindow(): void {
    const completeCount = this.window.filter((segment) => segment.complete).length;
    const dropCount = completeCount - this.options.windowSegments;
    if (dropCount <= 0) return;
    for (const dropped of this.window.splice(0, dropCount)) {
      for (const part of dropped.parts) this.partsByName.delete(part.name);
      this.segmentBytesByName.delete(dropped.name);
    }
  }

  private openSegment(): Segment | null {
    const last = this.window.at(-1);
    return last && !last.complete ? last : null;
  }

  /** Concatenated once on first request: most segments are only ever fetched part by part. */
  private segmentBytes(name: string): Buffer | null {
    const cached = this.segmentBytesByName.get(name);
    if (cached) return cached;
    const segment = this.window.find((candidate) => candidate.name === name && candidate.complete);
    if (!segment) return null;
    const bytes = Buffer.concat(segment.parts.map((part) => part.bytes));
    this.segmentBytesByName.set(name, bytes);
    return bytes;
  }
}

function validated(options: PackagerOptions): PackagerOptions {
  const problems = [
    Number.isInteger(options.firstMsn) && options.firstMsn >= 0 ? null : 'firstMsn must be an integer >= 0',
    options.targetSegmentSec > 0 ? null : 'targetSegmentSec must be > 0',
    options.partTargetSec > 0 ? null : 'partTargetSec must be > 0',
    Number.isInteger(options.windowSegments) && options.windowSegments >= 1
      ? null
      : 'windowSegments must be >= 1',
    options.runId.length > 0 ? null : 'runId must not be empty',
  ].filter((problem) => problem !== null);
  if (problems.length > 0) throw new Error(`packager: invalid options: ${problems.join('; ')}`);
  return { ...options };
}
