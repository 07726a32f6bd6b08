import type { Segment } from './model.js';

export interface PlaylistInput {
  initName: string;
  /** The window, oldest first; the last segment may be open (still taking parts). */
  segments: readonly Segment[];
  targetSegmentSec: number;
  partTargetSec: number;
  /** The next part's name, for EXT-X-PRELOAD-HINT; null when the run has ended. */
  nextPartName: string | null;
}

export interface RenderOptions {
  /** Parts, preload hint and server control for LL-HLS clients; false gives whole segments only. */
  lowLatency: boolean;
  /** `_HLS_skip=YES`: replace segments older than CAN-SKIP-UNTIL by EXT-X-SKIP, where the window allows it. */
  skip: boolean;
}

/** Segments whose parts are still listed: parts older than this many target durations help no player. */
const PART_LISTED_TARGETS = 3;
/** The spec wants CAN-SKIP-UNTIL to be at least six target durations. */
const SKIP_TARGETS = 6;

/**
 * A media playlist (pure) from the packager's window. LL-HLS clients get parts, a preload hint and blocking
 * reload; classic clients get the complete segments of the same window, so every player reads one source.
 */
export function renderPlaylist(input: PlaylistInput, options: RenderOptions): string | null {
  const listed = options.lowLatency ? input.segments : input.segments.filter((s) => s.complete);
  const first = listed[0];
  if (!first) return null;
  const targetSec = targetDurationSec(input);
  const skipUntilSec = skipUntil(input, targetSec);
  const skipped = options.lowLatency && options.skip && skipUntilSec ? skippable(listed, skipUntilSec) : 0;
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${options.lowLatency ? 9 : 7}`,
    `#EXT-X-TARGETDURATION:${targetSec}`,
    ...(options.lowLatency ? lowLatencyHeader(input, skipUntilSec) : []),
    `#EXT-X-MEDIA-SEQUENCE:${first.msn}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${input.initName}"`,
  ];
  if (skipped > 0) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}`);
  const partsFromMsn = partsListedFrom(listed, targetSec);
  for (const segment of listed.slice(skipped)) {
    lines.push(...segmentLines(segment, options.lowLatency && segment.msn >= partsFromMsn));
  }
  if (options.lowLatency && input.nextPartName) {
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${input.nextPartName}"`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * EXTINF rounded to the nearest second must not exceed it, whatever the camera's GOP makes of the target,
 * and it must not move while players hold the playlist: the larger of the setting and what the window shows.
 */
export function targetDurationSec(input: Pick<PlaylistInput, 'segments' | 'targetSegmentSec'>): number {
  const longest = Math.max(input.targetSegmentSec, ...input.segments.map((s) => s.durationSec));
  return Math.max(1, Math.round(longest));
}

/** PART-HOLD-BACK: the spec's minimum is twice the part target; three gives one part of slack. */
export function partHoldBackSec(partTargetSec: number): number {
  return 3 * partTargetSec;
}

function lowLatencyHeader(input: PlaylistInput, skipUntilSec: number | null): string[] {
  const control = [
    'CAN-BLOCK-RELOAD=YES',
    `PART-HOLD-BACK=${seconds(partHoldBackSec(input.partTargetSec))}`,
    ...(skipUntilSec ? [`CAN-SKIP-UNTIL=${seconds(skipUntilSec)}`] : []),
  ];
  return [
    `#EXT-X-SERVER-CONTROL:${control.join(',')}`,
    `#EXT-X-PART-INF:PART-TARGET=${seconds(input.partTargetSec)}`,
  ];
}

/** Skipping pays off only when the window is longer than what a delta update must still list. */
function skipUntil(input: PlaylistInput, targetSec: number): number | null {
  const skipUntilSec = SKIP_TARGETS * targetSec;
  const windowSec = input.segments.reduce((sum, s) => sum + s.durationSec, 0);
  return windowSec > skipUntilSec + targetSec ? skipUntilSec : null;
}

/** Leading segments that end more than `untilSec` before the live edge. */
function skippable(segments: readonly Segment[], untilSec: number): number {
  let fromEdgeSec = segments.reduce((sum, s) => sum + s.durationSec, 0);
  let count = 0;
  for (const segment of segments) {
    fromEdgeSec -= segment.durationSec;
    if (fromEdgeSec < untilSec) break;
    count++;
  }
  return count;
}

function partsListedFrom(segments: readonly Segment[], targetSec: number): number {
  let fromEdgeSec = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i] as Segment;
    fromEdgeSec += segment.durationSec;
    if (fromEdgeSec > PART_LISTED_TARGETS * targetSec) return segment.msn + 1;
  }
  return segments[0]?.msn ?? 0;
}

function segmentLines(segment: Segment, withParts: boolean): string[] {
  const lines = [`#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateTimeMs).toISOString()}`];
  if (withParts) {
    for (const part of segment.parts) {
      const independent = part.independent ? ',INDEPENDENT=YES' : '';
      lines.push(`#EXT-X-PART:DURATION=${seconds(part.durationSec)},URI="${part.name}"${independent}`);
    }
  }
  if (segment.complete) lines.push(`#EXTINF:${seconds(segment.durationSec)},`, segment.name);
  return lines;
}

function seconds(value: number): string {
  return value.toFixed(5).replace(/0+$/, '').replace(/\.$/, '');
}
