/**
 * What the LL-HLS packager keeps of one ffmpeg run: parts (one fMP4 fragment each) grouped into segments
 * that start at keyframes. Playlists are rendered from this, and files are served from it.
 */

/** One fragment (moof+mdat) of the run: an LL-HLS partial segment. */
export interface Part {
  /** Media sequence number of the segment the part belongs to. */
  msn: number;
  /** Index of the part within its segment, from 0. */
  index: number;
  /** `<runId>-<msn>-<index>.m4s` */
  name: string;
  bytes: Buffer;
  /** Sum of the video samples' durations from trun (with tfhd/trex defaults), in seconds. */
  durationSec: number;
  /** Decode time of the first video sample (tfdt), in seconds of the video track's timescale. */
  startSec: number;
  /** The first video sample is a sync sample (a keyframe): `INDEPENDENT=YES`. */
  independent: boolean;
  videoFrames: number;
  /** Wall clock when the part's last byte arrived from ffmpeg. */
  completedAtMs: number;
}

/** A segment: the parts from one keyframe up to the next segment's first keyframe. */
export interface Segment {
  msn: number;
  /** `<runId>-<msn>.m4s` */
  name: string;
  parts: Part[];
  /** Sum of the parts' durations. Grows while the segment is open. */
  durationSec: number;
  /** Wall clock of the first sample: the run's first part is anchored to the time it arrived. */
  programDateTimeMs: number;
  /** False while parts may still be added (the newest segment of a live run). */
  complete: boolean;
}

export interface PackagerOptions {
  /** Prefix of every file name of this run, so a restarted ffmpeg never reuses a name a player may have cached. */
  runId: string;
  /** Media sequence number of the run's first segment. */
  firstMsn: number;
  /** A new segment starts at the first keyframe once the open one has lasted this long (less half a part). */
  targetSegmentSec: number;
  /** ffmpeg's -frag_duration, in seconds: the nominal part length. */
  partTargetSec: number;
  /** Complete segments kept (and listed) behind the open one. */
  windowSegments: number;
  nowMs?: () => number;
}
