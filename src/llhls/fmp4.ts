/**
 * A small ISO-BMFF (ISO/IEC 14496-12) reader for ffmpeg's fragmented MP4 on a pipe: it cuts the byte stream
 * into the init (ftyp+moov) and fragments (moof+mdat), and reads the few boxes LL-HLS needs from them.
 * Hand-written because only seven box types matter here; a full MP4 library would be a big dependency for that.
 */

export type Fmp4Piece = { type: 'init'; bytes: Buffer } | { type: 'fragment'; bytes: Buffer };

export type TrackKind = 'video' | 'audio' | 'other';

export interface TrackInfo {
  trackId: number;
  /** Ticks per second of the track's media time (mdhd). */
  timescale: number;
  kind: TrackKind;
  /** trex default_sample_duration, in ticks (0 when the init has no trex for the track). */
  defaultSampleDurationTicks: number;
  /** trex default_sample_flags. */
  defaultSampleFlags: number;
}

export interface InitInfo {
  tracks: TrackInfo[];
}

/** What one fragment says about its video track. */
export interface FragmentInfo {
  /** tfdt baseMediaDecodeTime of the video track, in its ticks. */
  startTicks: number;
  /** Sum of the video samples' durations, in ticks. */
  durationTicks: number;
  timescale: number;
  startSec: number;
  durationSec: number;
  videoFrames: number;
  /** The first video sample is a sync sample (a keyframe). */
  independent: boolean;
}

const BOX_HEADER_BYTES = 8;
const LARGE_BOX_HEADER_BYTES = 16;
/** Far above any fragment of a camera stream; a larger size means we are reading garbage, not waiting for it. */
const MAX_BOX_BYTES = 256 * 1024 * 1024;
/** Boxes that may come just before a moof and belong to its fragment (segment type, index, producer time, events). */
const FRAGMENT_PREFIX_TYPES = new Set(['styp', 'sidx', 'prft', 'emsg']);

interface BoxHeader {
  type: string;
  sizeBytes: number;
  headerBytes: number;
}

/**
 * Reads a box header at `offset` of `bytes`; null when fewer header bytes are there yet.
 * Throws on a header that cannot start a box, so garbage fails loudly instead of stalling the stream.
 */
function readBoxHeader(bytes: Buffer, offset: number, available: number): BoxHeader | null {
  if (available < BOX_HEADER_BYTES) return null;
  const size32 = bytes.readUInt32BE(offset);
  const type = readBoxType(bytes, offset + 4);
  if (size32 === 1) {
    if (available < LARGE_BOX_HEADER_BYTES) return null;
    const size64 = bytes.readBigUInt64BE(offset + 8);
    if (size64 > BigInt(Number.MAX_SAFE_INTEGER))
      throw new Error(`fMP4: box '${type}' 64-bit size ${size64} is too large`);
    return checkedHeader(type, Number(size64), LARGE_BOX_HEADER_BYTES);
  }
  if (size32 === 0)
    throw new Error(`fMP4: box '${type}' has size 0 (up to end of file), impossible on a live stream`);
  return checkedHeader(type, size32, BOX_HEADER_BYTES);
}

function readBoxType(bytes: Buffer, offset: number): string {
  for (let i = 0; i < 4; i++) {
    const code = bytes[offset + i] ?? 0;
    if (code < 0x20 || code > 0x7e) {
      throw new Error(`fMP4: not a box (type bytes ${bytes.subarray(offset, offset + 4).toString('hex')})`);
    }
  }
  return bytes.toString('latin1', offset, offset + 4);
}

function checkedHeader(type: string, sizeBytes: number, headerBytes: number): BoxHeader {
  if (sizeBytes < headerBytes) {
    throw new Error(`fMP4: box '${type}' size ${sizeBytes} is smaller than its ${headerBytes}-byte header`);
  }
  if (sizeBytes > MAX_BOX_BYTES)
    throw new Error(`fMP4: box '${type}' size ${sizeBytes} exceeds ${MAX_BOX_BYTES}`);
  return { type, sizeBytes, headerBytes };
}

/** Bytes received but not yet cut into boxes; chunks are kept apart so tiny pipe reads cost no re-copying. */
class ByteQueue {
  private chunks: Buffer[] = [];
  length = 0;

  append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The first `count` bytes (fewer if fewer are queued), copying only the chunks they span. */
  peek(count: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= count) return first.subarray(0, count);
    const spanned: Buffer[] = [];
    let spannedBytes = 0;
    for (const chunk of this.chunks) {
      if (spannedBytes >= count) break;
      spanned.push(chunk);
      spannedBytes += chunk.length;
    }
    return Buffer.concat(spanned, Math.min(count, spannedBytes));
  }

  take(count: number): Buffer {
    const taken = this.peek(count);
    this.drop(count);
    return taken;
  }

  private drop(count: number): void {
    let left = count;
    while (left > 0) {
      const first = this.chunks[0] as Buffer;
      if (first.length > left) {
        this.chunks[0] = first.subarray(left);
        left = 0;
      } else {
        this.chunks.shift();
        left -= first.length;
      }
    }
    this.length -= count;
  }
}

/**
 * Cuts a byte stream arriving in arbitrary chunks into the init (every box up to and including moov) and
 * fragments (styp/sidx/prft/emsg boxes right before a moof, the moof, and its mdat). Other boxes between
 * fragments (free, skip, mfra) carry nothing a player needs and are skipped.
 */
export class Fmp4Splitter {
  private readonly queue = new ByteQueue();
  private initBoxes: Buffer[] | null = [];
  private fragmentBoxes: Buffer[] = [];
  private sawMoof = false;
  /** Header of the box being received, read once rather than on every chunk of a large mdat. */
  private pendingHeader: BoxHeader | null = null;

  push(chunk: Buffer): Fmp4Piece[] {
    this.queue.append(chunk);
    const pieces: Fmp4Piece[] = [];
    for (let box = this.nextBox(); box; box = this.nextBox()) {
      const piece = this.place(box.type, box.bytes);
      if (piece) pieces.push(piece);
    }
    return pieces;
  }

  private nextBox(): { type: string; bytes: Buffer } | null {
    this.pendingHeader ??= this.readPendingHeader();
    const header = this.pendingHeader;
    if (!header || this.queue.length < header.sizeBytes) return null;
    this.pendingHeader = null;
    return { type: header.type, bytes: this.queue.take(header.sizeBytes) };
  }

  private readPendingHeader(): BoxHeader | null {
    const head = this.queue.peek(LARGE_BOX_HEADER_BYTES);
    return readBoxHeader(head, 0, head.length);
  }

  private place(type: string, bytes: Buffer): Fmp4Piece | null {
    if (this.initBoxes) return this.placeInitBox(type, bytes);
    if (type === 'moof') {
      if (this.sawMoof) throw new Error('fMP4: moof without an mdat before the next moof');
      this.sawMoof = true;
      this.fragmentBoxes.push(bytes);
    } else if (type === 'mdat' && this.sawMoof) {
      this.fragmentBoxes.push(bytes);
      return this.completeFragment();
    } else if (type === 'mdat') {
      throw new Error('fMP4: mdat without a moof before it');
    } else if (FRAGMENT_PREFIX_TYPES.has(type) && !this.sawMoof) {
      this.fragmentBoxes.push(bytes);
    } else if (type === 'moov' || type === 'ftyp') {
      throw new Error(`fMP4: a second '${type}' in one stream (ffmpeg restarted its output?)`);
    }
    return null;
  }

  private placeInitBox(type: string, bytes: Buffer): Fmp4Piece | null {
    if (type === 'moof' || type === 'mdat' || FRAGMENT_PREFIX_TYPES.has(type)) {
      throw new Error(`fMP4: '${type}' before the moov (no init segment)`);
    }
    const initBoxes = this.initBoxes ?? [];
    initBoxes.push(bytes);
    if (type !== 'moov') return null;
    this.initBoxes = null;
    return { type: 'init', bytes: Buffer.concat(initBoxes) };
  }

  private completeFragment(): Fmp4Piece {
    const bytes = Buffer.concat(this.fragmentBoxes);
    this.fragmentBoxes = [];
    this.sawMoof = false;
    return { type: 'fragment', bytes };
  }
}

interface Box {
  type: string;
  /** Offset of the box's payload (after the header) in the buffer. */
  bodyStart: number;
  end: number;
}

/** The child boxes within [start, end) of `bytes`; a child reaching past its parent is an error. */
function childBoxes(bytes: Buffer, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  for (let offset = start; offset < end; ) {
    const header = readBoxHeader(bytes, offset, end - offset);
    if (!header) throw new Error(`fMP4: truncated box header at byte ${offset}`);
    const boxEnd = offset + header.sizeBytes;
    if (boxEnd > end) throw new Error(`fMP4: box '${header.type}' at byte ${offset} runs past its parent`);
    boxes.push({ type: header.type, bodyStart: offset + header.headerBytes, end: boxEnd });
    offset = boxEnd;
  }
  return boxes;
}

function childrenOf(bytes: Buffer, parent: Box): Box[] {
  return childBoxes(bytes, parent.bodyStart, parent.end);
}

function find(boxes: Box[], type: string): Box | undefined {
  return boxes.find((box) => box.type === type);
}

function required(boxes: Box[], type: string, where: string): Box {
  const box = find(boxes, type);
  if (!box) throw new Error(`fMP4: no '${type}' box in ${where}`);
  return box;
}

/** Reads the fields of a box body in order, refusing to read past the box. */
class FieldReader {
  private offset: number;

  constructor(
    private readonly bytes: Buffer,
    private readonly box: Box,
  ) {
    this.offset = box.bodyStart;
  }

  /** version (8 bits) and flags (24 bits) of a FullBox. */
  fullBoxHeader(): { version: number; flags: number } {
    const word = this.u32();
    return { version: word >>> 24, flags: word & 0xffffff };
  }

  u32(): number {
    this.ensure(4);
    const value = this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    this.ensure(8);
    const value = this.bytes.readBigUInt64BE(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new Error(`fMP4: '${this.box.type}' value ${value} too large`);
    return Number(value);
  }

  skip(count: number): void {
    this.ensure(count);
    this.offset += count;
  }

  fourCc(): string {
    this.ensure(4);
    const value = this.bytes.toString('latin1', this.offset, this.offset + 4);
    this.offset += 4;
    return value;
  }

  private ensure(count: number): void {
    if (this.offset + count > this.box.end) throw new Error(`fMP4: '${this.box.type}' box is truncated`);
  }
}

/** Tracks of an init segment (ftyp+moov), with the trex defaults fragments fall back to. */
export function parseInit(bytes: Buffer): InitInfo {
  const moov = required(childBoxes(bytes, 0, bytes.length), 'moov', 'the init segment');
  const moovChildren = childrenOf(bytes, moov);
  const trexByTrack = readTrexDefaults(bytes, moovChildren);
  const tracks = moovChildren
    .filter((box) => box.type === 'trak')
    .map((trak) => readTrack(bytes, trak, trexByTrack));
  return { tracks };
}

function readTrack(bytes: Buffer, trak: Box, trexByTrack: Map<number, TrexDefaults>): TrackInfo {
  const trakChildren = childrenOf(bytes, trak);
  const trackId = readTrackId(bytes, required(trakChildren, 'tkhd', 'trak'));
  const mdiaChildren = childrenOf(bytes, required(trakChildren, 'mdia', 'trak'));
  const trex = trexByTrack.get(trackId);
  return {
    trackId,
    timescale: readTimescale(bytes, required(mdiaChildren, 'mdhd', 'mdia')),
    kind: readKind(bytes, required(mdiaChildren, 'hdlr', 'mdia')),
    defaultSampleDurationTicks: trex?.sampleDurationTicks ?? 0,
    defaultSampleFlags: trex?.sampleFlags ?? 0,
  };
}

function readTrackId(bytes: Buffer, tkhd: Box): number {
  const reader = new FieldReader(bytes, tkhd);
  const { version } = reader.fullBoxHeader();
  reader.skip(version === 1 ? 16 : 8); // creation and modification times
  return reader.u32();
}

function readTimescale(bytes: Buffer, mdhd: Box): number {
  const reader = new FieldReader(bytes, mdhd);
  const { version } = reader.fullBoxHeader();
  reader.skip(version === 1 ? 16 : 8); // creation and modification times
  const timescale = reader.u32();
  if (timescale === 0) throw new Error('fMP4: mdhd timescale is 0');
  return timescale;
}

function readKind(bytes: Buffer, hdlr: Box): TrackKind {
  const reader = new FieldReader(bytes, hdlr);
  reader.fullBoxHeader();
  reader.skip(4); // pre_defined
  const handler = reader.fourCc();
  if (handler === 'vide') return 'video';
  if (handler === 'soun') return 'audio';
  return 'other';
}

interface TrexDefaults {
  sampleDurationTicks: number;
  sampleFlags: number;
}

function readTrexDefaults(bytes: Buffer, moovChildren: Box[]): Map<number, TrexDefaults> {
  const defaults = new Map<number, TrexDefaults>();
  const mvex = find(moovChildren, 'mvex');
  if (!mvex) return defaults;
  for (const trex of childrenOf(bytes, mvex).filter((box) => box.type === 'trex')) {
    const reader = new FieldReader(bytes, trex);
    reader.fullBoxHeader();
    const trackId = reader.u32();
    reader.skip(4); // default_sample_description_index
    const sampleDurationTicks = reader.u32();
    reader.skip(4); // default_sample_size
    defaults.set(trackId, { sampleDurationTicks, sampleFlags: reader.u32() });
  }
  return defaults;
}

/** The video track of an init; the LL-HLS timeline (parts, segments, keyframes) follows it. */
export function videoTrackOf(init: InitInfo): TrackInfo {
  const video = init.tracks.find((track) => track.kind === 'video');
  if (!video) throw new Error('fMP4: the init segment has no video track');
  return video;
}

// tfhd flags (ISO/IEC 14496-12 8.8.7)
const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_SAMPLE_DURATION = 0x000008;
const TFHD_DEFAULT_SAMPLE_SIZE = 0x000010;
const TFHD_DEFAULT_SAMPLE_FLAGS = 0x000020;
// trun flags (8.8.8)
const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_SAMPLE_DURATION = 0x000100;
const TRUN_SAMPLE_SIZE = 0x000200;
const TRUN_SAMPLE_FLAGS = 0x000400;
const TRUN_SAMPLE_COMPOSITION_TIME_OFFSET = 0x000800;
// sample_flags (8.8.3.1): reserved(4) is_leading(2) depends_on(2) is_depended_on(2) has_redundancy(2)
// padding(3) is_non_sync_sample(1) degradation_priority(16)
const SAMPLE_IS_NON_SYNC = 0x00010000;

interface TrafDefaults {
  sampleDurationTicks: number;
  sampleFlags: number;
}

interface TrunSummary {
  sampleCount: number;
  durationTicks: number;
  /** Flags of the run's first sample, or null when the run leaves them to the defaults. */
  firstSampleFlags: number | null;
}

/**
 * The video track's timing and keyframe flag in one fragment (moof+mdat, maybe after styp/sidx/prft).
 * A fragment without a video traf yields zero frames, starting where its tfdt would be unknown: null.
 */
export function parseFragment(bytes: Buffer, init: InitInfo): FragmentInfo | null {
  const video = videoTrackOf(init);
  const moof = required(childBoxes(bytes, 0, bytes.length), 'moof', 'the fragment');
  const traf = childrenOf(bytes, moof).find(
    (box) => box.type === 'traf' && readTfhdTrackId(bytes, childrenOf(bytes, box)) === video.trackId,
  );
  if (!traf) return null;
  return readVideoTraf(bytes, childrenOf(bytes, traf), video);
}

function readTfhdTrackId(bytes: Buffer, trafChildren: Box[]): number {
  const reader = new FieldReader(bytes, required(trafChildren, 'tfhd', 'traf'));
  reader.fullBoxHeader();
  return reader.u32();
}

function readVideoTraf(bytes: Buffer, trafChildren: Box[], video: TrackInfo): FragmentInfo | null {
  const defaults = readTfhdDefaults(bytes, required(trafChildren, 'tfhd', 'traf'), video);
  const startTicks = readBaseMediaDecodeTime(bytes, required(trafChildren, 'tfdt', 'the video traf'));
  const runs = trafChildren
    .filter((box) => box.type === 'trun')
    .map((trun) => readTrun(bytes, trun, defaults));
  const firstRun = runs.find((run) => run.sampleCount > 0);
  if (!firstRun) return null;
  const durationTicks = runs.reduce((sum, run) => sum + run.durationTicks, 0);
  return {
    startTicks,
    durationTicks,
    timescale: video.timescale,
    startSec: startTicks / video.timescale,
    durationSec: durationTicks / video.timescale,
    videoFrames: runs.reduce((sum, run) => sum + run.sampleCount, 0),
    independent: isSyncSample(firstRun.firstSampleFlags ?? defaults.sampleFlags),
  };
}

/**
 * Only sample_is_non_sync_sample decides: sample_depends_on == 2 also marks an I-frame that is not a random
 * access point (open GOP, periodic intra refresh), and a segment starting there would not decode alone.
 */
function isSyncSample(sampleFlags: number): boolean {
  return (sampleFlags & SAMPLE_IS_NON_SYNC) === 0;
}

function readTfhdDefaults(bytes: Buffer, tfhd: Box, video: TrackInfo): TrafDefaults {
  const reader = new FieldReader(bytes, tfhd);
  const { flags } = reader.fullBoxHeader();
  reader.skip(4); // track_ID
  if (flags & TFHD_BASE_DATA_OFFSET) reader.skip(8);
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) reader.skip(4);
  const sampleDurationTicks =
    flags & TFHD_DEFAULT_SAMPLE_DURATION ? reader.u32() : video.defaultSampleDurationTicks;
  if (flags & TFHD_DEFAULT_SAMPLE_SIZE) reader.skip(4);
  const sampleFlags = flags & TFHD_DEFAULT_SAMPLE_FLAGS ? reader.u32() : video.defaultSampleFlags;
  return { sampleDurationTicks, sampleFlags };
}

function readBaseMediaDecodeTime(bytes: Buffer, tfdt: Box): number {
  const reader = new FieldReader(bytes, tfdt);
  const { version } = reader.fullBoxHeader();
  return version === 1 ? reader.u64() : reader.u32();
}

function readTrun(bytes: Buffer, trun: Box, defaults: TrafDefaults): TrunSummary {
  const reader = new FieldReader(bytes, trun);
  const { flags } = reader.fullBoxHeader();
  const sampleCount = reader.u32();
  if (flags & TRUN_DATA_OFFSET) reader.skip(4);
  let firstSampleFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? reader.u32() : null;
  let durationTicks = 0;
  for (let i = 0; i < sampleCount; i++) {
    durationTicks += flags & TRUN_SAMPLE_DURATION ? reader.u32() : defaults.sampleDurationTicks;
    if (flags & TRUN_SAMPLE_SIZE) reader.skip(4);
    const sampleFlags = flags & TRUN_SAMPLE_FLAGS ? reader.u32() : null;
    if (i === 0 && firstSampleFlags === null) firstSampleFlags = sampleFlags;
    if (flags & TRUN_SAMPLE_COMPOSITION_TIME_OFFSET) reader.skip(4);
  }
  return { sampleCount, durationTicks, firstSampleFlags };
}
