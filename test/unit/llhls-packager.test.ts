import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Fmp4Splitter, parseFragment, parseInit } from '../../src/llhls/fmp4.js';
import type { PackagerOptions, Part, Segment } from '../../src/llhls/model.js';
import { Packager } from '../../src/llhls/packager.js';

/** 6 s from the GStreamer test camera (25 fps, a keyframe every second) through ffmpeg 5.1; see the README. */
const FIXTURE = readFileSync(new URL('../fixtures/llhls/camera-h264-aac.mp4', import.meta.url));
const FFPROBE_PACKETS = (
  JSON.parse(
    readFileSync(new URL('../fixtures/llhls/camera-h264-aac.video-packets.json', import.meta.url), 'utf8'),
  ) as { packets: { dts: number; duration: number; flags: string }[] }
).packets;
/** ffprobe's time_base of the video stream (1/90000). */
const VIDEO_TICKS_PER_SEC = 90_000;
const ONE_MS_SEC = 0.001;
const START_MS = 1_700_000_000_000;

const OPTIONS: PackagerOptions = {
  runId: 'r1',
  firstMsn: 7,
  targetSegmentSec: 1,
  partTargetSec: 0.2,
  windowSegments: 10,
  nowMs: () => START_MS,
};

/** Top-level boxes of the fixture, read here without the code under test. */
function topLevelBoxes(bytes: Buffer): { type: string; start: number; end: number }[] {
  const boxes = [];
  for (let start = 0; start < bytes.length; ) {
    const end = start + bytes.readUInt32BE(start);
    boxes.push({ type: bytes.toString('latin1', start + 4, start + 8), start, end });
    start = end;
  }
  return boxes;
}

/** moof+mdat pairs of the fixture: what every part must be, byte for byte. */
function fixtureFragments(): Buffer[] {
  const boxes = topLevelBoxes(FIXTURE);
  return boxes
    .map((box, i) => ({ box, next: boxes[i + 1] }))
    .filter(({ box }) => box.type === 'moof')
    .map(({ box, next }) => FIXTURE.subarray(box.start, next?.end));
}

function fixtureInit(): Buffer {
  const firstMoof = topLevelBoxes(FIXTURE).find((box) => box.type === 'moof');
  return FIXTURE.subarray(0, firstMoof?.start);
}

/** Deterministic PRNG (mulberry32), so a failing chunking can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Chunks of 1 byte to 64 KiB, log-uniform so that tiny cuts through box headers are common. */
function randomChunks(bytes: Buffer, seed: number): Buffer[] {
  const next = random(seed);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const size = Math.max(1, Math.floor(Math.exp(next() * Math.log(64 * 1024))));
    chunks.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

function packagerFed(chunks: Buffer[], options: Partial<PackagerOptions> = {}) {
  const packager = new Packager({ ...OPTIONS, ...options });
  const events: { kind: 'part' | 'segment'; name: string }[] = [];
  const parts: Part[] = [];
  packager.on('part', (part) => {
    parts.push(part);
    events.push({ kind: 'part', name: part.name });
  });
  packager.on('segment', (segment) => events.push({ kind: 'segment', name: segment.name }));
  for (const chunk of chunks) packager.push(chunk);
  return { packager, parts, events };
}

function ended(chunks: Buffer[], options: Partial<PackagerOptions> = {}) {
  const fed = packagerFed(chunks, options);
  fed.packager.end();
  return { ...fed, segments: fed.packager.segments() };
}

/** The ffprobe packets whose decode time falls in the part. */
function packetsOf(part: Part) {
  const startTicks = Math.round(part.startSec * VIDEO_TICKS_PER_SEC);
  const endTicks = Math.round((part.startSec + part.durationSec) * VIDEO_TICKS_PER_SEC);
  return FFPROBE_PACKETS.filter((packet) => packet.dts >= startTicks && packet.dts < endTicks);
}

describe('Fmp4Splitter', () => {
  const wholePieces = new Fmp4Splitter().push(FIXTURE);

  it('cuts the stream into the init and one piece per moof+mdat', () => {
    expect(wholePieces[0]).toEqual({ type: 'init', bytes: fixtureInit() });
    const fragments = wholePieces.slice(1);
    expect(fragments.every((piece) => piece.type === 'fragment')).toBe(true);
    expect(fragments.map((piece) => piece.bytes)).toEqual(fixtureFragments());
  });

  it('cuts the same pieces however the bytes arrive', () => {
    for (const seed of [1, 2, 3]) {
      const splitter = new Fmp4Splitter();
      const pieces = randomChunks(FIXTURE, seed).flatMap((chunk) => splitter.push(chunk));
      expect(pieces).toEqual(wholePieces);
    }
    const byteByByte = new Fmp4Splitter();
    const pieces = [...FIXTURE].flatMap((byte) => byteByByte.push(Buffer.of(byte)));
    expect(pieces).toEqual(wholePieces);
  });

  it('keeps styp/sidx/prft boxes with the fragment they come before', () => {
    const fragment = fixtureFragments()[0] as Buffer;
    const styp = box('styp', Buffer.from('msdh'), u32(0), Buffer.from('msdhmsix'));
    const prft = fullBox('prft', 0, 0, u32(1), Buffer.alloc(8), u32(0));
    const pieces = new Fmp4Splitter().push(Buffer.concat([fixtureInit(), styp, prft, fragment]));
    expect(pieces[1]?.bytes).toEqual(Buffer.concat([styp, prft, fragment]));
  });

  it('reads a box with a 64-bit size, cut anywhere', () => {
    const fragment = fixtureFragments()[0] as Buffer;
    const moofBytes = fragment.readUInt32BE(0);
    const mdatBody = fragment.subarray(moofBytes + 8);
    const mdat64 = Buffer.concat([u32(1), Buffer.from('mdat'), u64(16 + mdatBody.length), mdatBody]);
    const free64 = Buffer.concat([u32(1), Buffer.from('free'), u64(20), Buffer.from('skip')]);
    const stream = Buffer.concat([fixtureInit(), free64, fragment.subarray(0, moofBytes), mdat64]);
    for (const seed of [4, 5]) {
      const splitter = new Fmp4Splitter();
      const pieces = randomChunks(stream, seed).flatMap((chunk) => splitter.push(chunk));
      expect(pieces.map((piece) => piece.type)).toEqual(['init', 'fragment']);
      expect(pieces[1]?.bytes).toEqual(Buffer.concat([fragment.subarray(0, moofBytes), mdat64]));
    }
  });

  it('rejects garbage with a message that says what is wrong', () => {
    const push = (bytes: Buffer) => () => new Fmp4Splitter().push(bytes);
    expect(push(Buffer.from('HTTP/1.1 404 Not Found\r\n'))).toThrow(
      "fMP4: box '/1.1' size 1213486160 exceeds 268435456",
    );
    expect(push(Buffer.concat([u32(4), Buffer.from('ftyp')]))).toThrow(
      "fMP4: box 'ftyp' size 4 is smaller than its 8-byte header",
    );
    expect(push(Buffer.concat([u32(1), Buffer.from('mdat'), u64(12)]))).toThrow(
      "fMP4: box 'mdat' size 12 is smaller than its 16-byte header",
    );
    expect(push(Buffer.concat([u32(0), Buffer.from('mdat')]))).toThrow(/size 0/);
    expect(push(Buffer.from([0, 0, 0, 16, 0xff, 0xfe, 0, 1]))).toThrow(
      'fMP4: not a box (type bytes fffe0001)',
    );
    expect(push(fixtureFragments()[0] as Buffer)).toThrow("fMP4: 'moof' before the moov (no init segment)");
  });
});

describe('parseInit and parseFragment', () => {
  const init = parseInit(fixtureInit());

  it('reads the tracks of ffmpeg init segment', () => {
    expect(init.tracks).toEqual([
      { trackId: 1, timescale: 90_000, kind: 'video', defaultSampleDurationTicks: 0, defaultSampleFlags: 0 },
      { trackId: 2, timescale: 16_000, kind: 'audio', defaultSampleDurationTicks: 0, defaultSampleFlags: 0 },
    ]);
  });

  it('agrees with ffprobe on every fragment: first decode time, frames, keyframe', () => {
    const infos = fixtureFragments().map((fragment) => parseFragment(fragment, init));
    let packetIndex = 0;
    for (const info of infos) {
      const first = FFPROBE_PACKETS[packetIndex];
      expect(info?.startTicks).toBe(first?.dts);
      expect(info?.independent).toBe(first?.flags.startsWith('K'));
      packetIndex += info?.videoFrames ?? 0;
    }
    expect(packetIndex).toBe(FFPROBE_PACKETS.length);
  });

  describe('on synthetic boxes', () => {
    const NON_SYNC = 0x01010000;
    const SYNC = 0x02000000;
    const syntheticInit = parseInit(initWith({ trexDurationTicks: 40, trexFlags: NON_SYNC }));

    it('falls back to the trex duration and flags', () => {
      const info = parseFragment(fragmentWith({ tfdtVersion: 0, startTicks: 80, samples: 3 }), syntheticInit);
      expect(info).toMatchObject({ startSec: 0.08, durationSec: 0.12, videoFrames: 3, independent: false });
    });

    it('reads a 64-bit tfdt and per-sample durations and flags', () => {
      const startTicks = 2 ** 33 + 5;
      const fragment = fragmentWith({
        tfdtVersion: 1,
        startTicks,
        samples: 2,
        sampleDurationsTicks: [30, 50],
        sampleFlags: [SYNC, NON_SYNC],
      });
      const info = parseFragment(fragment, syntheticInit);
      expect(info).toMatchObject({ startTicks, durationTicks: 80, videoFrames: 2, independent: true });
    });

    it('prefers tfhd defaults to trex, and first_sample_flags to both', () => {
      const tfhdSync = fragmentWith({ samples: 2, tfhdDurationTicks: 25, tfhdFlags: SYNC });
      expect(parseFragment(tfhdSync, syntheticInit)).toMatchObject({ durationTicks: 50, independent: true });
      const firstSync = fragmentWith({ samples: 2, tfhdFlags: NON_SYNC, firstSampleFlags: SYNC });
      expect(parseFragment(firstSync, syntheticInit)).toMatchObject({ independent: true });
    });

    it('takes only sample_is_non_sync_sample as the keyframe mark, not sample_depends_on', () => {
      const intraNotSync = 0x02010000; // depends on nothing, yet not a random access point (open GOP)
      const fragment = fragmentWith({ samples: 1, firstSampleFlags: intraNotSync });
      expect(parseFragment(fragment, syntheticInit)).toMatchObject({ independent: false });
    });

    it('says null for a fragment without video samples', () => {
      const audioOnly = fragmentWith({ samples: 1, trackId: 2 });
      expect(parseFragment(audioOnly, syntheticInit)).toBeNull();
    });

    it('rejects a box that runs past its parent', () => {
      const fragment = fragmentWith({ samples: 1 });
      fragment.writeUInt32BE(fragment.readUInt32BE(24) + 4, 24); // the traf claims more than the moof holds
      expect(() => parseFragment(fragment, syntheticInit)).toThrow(
        "fMP4: box 'traf' at byte 24 runs past its parent",
      );
    });
  });
});

describe('Packager on the camera fixture', () => {
  const whole = ended([FIXTURE]);
  const parts = whole.segments.flatMap((segment) => segment.parts);

  it('makes the same parts and segments however the bytes arrive', () => {
    for (const seed of [11, 12, 13]) {
      expect(ended(randomChunks(FIXTURE, seed)).segments).toEqual(whole.segments);
    }
  });

  it('makes one part per fragment, byte for byte', () => {
    expect(parts.map((part) => part.bytes)).toEqual(fixtureFragments());
    expect(whole.packager.init).toEqual(fixtureInit());
    expect(whole.packager.videoFrames).toBe(FFPROBE_PACKETS.length);
    expect(whole.packager.bytesTotal).toBe(FIXTURE.length);
  });

  it('gives part durations that match the next part start (tfdt) within 1 ms', () => {
    for (const [i, part] of parts.slice(0, -1).entries()) {
      const next = parts[i + 1] as Part;
      expect(Math.abs(part.startSec + part.durationSec - next.startSec)).toBeLessThan(ONE_MS_SEC);
    }
    const last = parts.at(-1) as Part;
    const lastPacket = FFPROBE_PACKETS.at(-1) as { dts: number; duration: number };
    const endSec = (lastPacket.dts + lastPacket.duration) / VIDEO_TICKS_PER_SEC;
    expect(Math.abs(last.startSec + last.durationSec - endSec)).toBeLessThan(ONE_MS_SEC);
  });

  it('counts the frames and keyframes ffprobe sees in each part', () => {
    for (const part of parts) {
      const packets = packetsOf(part);
      expect(packets.length).toBe(part.videoFrames);
      expect(packets[0]?.flags.startsWith('K')).toBe(part.independent);
    }
  });

  it('starts every segment at a keyframe, one segment per 1 s GOP', () => {
    const keyframeSecs = FFPROBE_PACKETS.filter((packet) => packet.flags.startsWith('K')).map(
      (packet) => packet.dts / VIDEO_TICKS_PER_SEC,
    );
    expect(whole.segments.map((segment) => segment.parts[0]?.startSec)).toEqual(keyframeSecs);
    for (const segment of whole.segments) {
      expect(segment.parts[0]?.independent).toBe(true);
      expect(segment.parts.slice(1).some((part) => part.independent)).toBe(false);
      expect(Math.abs(segment.durationSec - 1)).toBeLessThan(0.1);
    }
    for (const [i, segment] of whole.segments.slice(0, -1).entries()) {
      const gopSec = (keyframeSecs[i + 1] as number) - (keyframeSecs[i] as number);
      expect(Math.abs(segment.durationSec - gopSec)).toBeLessThan(ONE_MS_SEC);
    }
  });

  it('numbers segments from firstMsn and names parts and segments after the run', () => {
    expect(whole.segments.map((segment) => segment.msn)).toEqual([7, 8, 9, 10, 11, 12]);
    const second = whole.segments[1] as Segment;
    expect(second.name).toBe('r1-8.m4s');
    expect(second.parts.map((part) => part.name)).toEqual(
      [0, 1, 2, 3, 4].map((index) => `r1-8-${index}.m4s`),
    );
    expect(second.parts.map((part) => part.msn)).toEqual([8, 8, 8, 8, 8]);
    expect(whole.packager.initName).toBe('r1-init.mp4');
  });

  it('emits each part as it comes and each segment as the next one starts', () => {
    const { events } = packagerFed([FIXTURE]);
    const firstParts = whole.segments[0]?.parts.map((part) => ({ kind: 'part', name: part.name }));
    expect(events.slice(0, 8)).toEqual([
      ...(firstParts ?? []),
      { kind: 'segment', name: 'r1-7.m4s' },
      { kind: 'part', name: 'r1-8-0.m4s' },
    ]);
    expect(events.filter((event) => event.kind === 'segment')).toHaveLength(5);
  });

  it('closes the open segment on end(), and takes no more bytes', () => {
    const { packager, events } = packagerFed([FIXTURE]);
    expect(packager.segments().at(-1)?.complete).toBe(false);
    expect(packager.file('r1-12.m4s')).toBeNull();
    packager.end();
    expect(packager.segments().at(-1)?.complete).toBe(true);
    expect(events.at(-1)).toEqual({ kind: 'segment', name: 'r1-12.m4s' });
    expect(packager.ended).toBe(true);
    expect(packager.nextPartName()).toBeNull();
    expect(() => packager.push(FIXTURE)).toThrow('packager: push() after end()');
  });

  it('serves the init, parts and complete segments by name', () => {
    const { packager } = whole;
    expect(packager.file('r1-init.mp4')).toEqual(fixtureInit());
    const segment = whole.segments[2] as Segment;
    expect(packager.file('r1-9-3.m4s')).toBe(segment.parts[3]?.bytes);
    const segmentBytes = packager.file('r1-9.m4s');
    expect(segmentBytes).toEqual(Buffer.concat(segment.parts.map((part) => part.bytes)));
    expect(packager.file('r1-9.m4s')).toBe(segmentBytes);
    expect(packager.file('r1-99.m4s')).toBeNull();
    expect(packager.file('r2-9.m4s')).toBeNull();
  });

  it('keeps windowSegments complete segments behind the open one, and forgets older files', () => {
    const { packager } = packagerFed([FIXTURE], { windowSegments: 2 });
    const window = packager.segments();
    expect(window.map((segment) => [segment.msn, segment.complete])).toEqual([
      [10, true],
      [11, true],
      [12, false],
    ]);
    expect(packager.file('r1-9.m4s')).toBeNull();
    expect(packager.file('r1-9-0.m4s')).toBeNull();
    expect(packager.file('r1-10-0.m4s')).not.toBeNull();
  });

  it('anchors program date-time to the wall clock at the first part, then follows media time', () => {
    let nowMs = START_MS;
    const packager = new Packager({ ...OPTIONS, nowMs: () => nowMs });
    for (const chunk of randomChunks(FIXTURE, 21)) {
      nowMs += 7;
      packager.push(chunk);
    }
    const [first, ...later] = packager.segments() as Segment[];
    const firstPart = first?.parts[0] as Part;
    expect(first?.programDateTimeMs).toBe(firstPart.completedAtMs);
    for (const segment of later) {
      const mediaSec = (segment.parts[0]?.startSec ?? 0) - firstPart.startSec;
      expect(segment.programDateTimeMs).toBeCloseTo((first?.programDateTimeMs ?? 0) + mediaSec * 1000, 6);
    }
  });

  it('drops fragments before the first keyframe', () => {
    const fragments = fixtureFragments();
    const { parts: kept } = ended([fixtureInit(), ...fragments.slice(1)]);
    expect(kept[0]?.startSec).toBe(whole.segments[1]?.parts[0]?.startSec);
    expect(kept[0]?.name).toBe('r1-7-0.m4s');
    expect(kept).toHaveLength(parts.length - (whole.segments[0]?.parts.length ?? 0));
  });

  it('hints the name of the next part, guessing the segment break from the last GOP', () => {
    const { packager } = packagerFed([]);
    const hints: (string | null)[] = [];
    const names: string[] = [];
    packager.on('part', (part) => {
      names.push(part.name);
      hints.push(packager.nextPartName());
    });
    packager.push(FIXTURE);
    const wrong = hints.slice(0, -1).filter((hint, i) => hint !== names[i + 1]);
    // Only the first segment can be misjudged: there is no GOP to go by yet.
    expect(wrong).toEqual(['r1-8-0.m4s']);
  });

  it('carries a fragment without video over into the next part', () => {
    const init = initWith({ trexDurationTicks: 40, trexFlags: 0 });
    const audio = fragmentWith({ samples: 1, trackId: 2 });
    const video = fragmentWith({ samples: 2, startTicks: 0 });
    const { parts: made } = packagerFed([init, audio, video]);
    expect(made.map((part) => part.bytes)).toEqual([Buffer.concat([audio, video])]);
  });

  it('refuses a stream without video, and invalid options', () => {
    const audioOnly = new Packager(OPTIONS);
    expect(() => audioOnly.push(initWith({ trexDurationTicks: 0, trexFlags: 0, handler: 'soun' }))).toThrow(
      'fMP4: the init segment has no video track',
    );
    expect(() => new Packager({ ...OPTIONS, windowSegments: 0, partTargetSec: 0 })).toThrow(
      'packager: invalid options: partTargetSec must be > 0; windowSegments must be >= 1',
    );
  });
});

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

function u64(value: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(value));
  return bytes;
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u32((version << 24) | flags), ...payload);
}

/** A one-track init (track 1, timescale 1000) with the given trex defaults. */
function initWith(options: { trexDurationTicks: number; trexFlags: number; handler?: string }): Buffer {
  const tkhd = fullBox('tkhd', 0, 3, u32(0), u32(0), u32(1), Buffer.alloc(68));
  const mdhd = fullBox('mdhd', 0, 0, u32(0), u32(0), u32(1000), u32(0), u32(0));
  const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from(options.handler ?? 'vide'), Buffer.alloc(13));
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr));
  const trex = fullBox(
    'trex',
    0,
    0,
    u32(1),
    u32(1),
    u32(options.trexDurationTicks),
    u32(0),
    u32(options.trexFlags),
  );
  return Buffer.concat([box('ftyp', Buffer.from('isom'), u32(0)), box('moov', trak, box('mvex', trex))]);
}

interface SyntheticFragment {
  samples: number;
  trackId?: number;
  tfdtVersion?: number;
  startTicks?: number;
  tfhdDurationTicks?: number;
  tfhdFlags?: number;
  firstSampleFlags?: number;
  sampleDurationsTicks?: number[];
  sampleFlags?: number[];
}

/** A moof+mdat with one traf; each optional field switches on the box field that carries it. */
function fragmentWith(fragment: SyntheticFragment): Buffer {
  const tfhdFlags =
    (fragment.tfhdDurationTicks === undefined ? 0 : 0x08) | (fragment.tfhdFlags === undefined ? 0 : 0x20);
  const tfhd = fullBox(
    'tfhd',
    0,
    tfhdFlags | 0x020000,
    u32(fragment.trackId ?? 1),
    ...[fragment.tfhdDurationTicks, fragment.tfhdFlags].filter((value) => value !== undefined).map(u32),
  );
  const version = fragment.tfdtVersion ?? 0;
  const startTicks = fragment.startTicks ?? 0;
  const tfdt = fullBox('tfdt', version, 0, version === 1 ? u64(startTicks) : u32(startTicks));
  const trunFlags =
    (fragment.firstSampleFlags === undefined ? 0 : 0x004) |
    (fragment.sampleDurationsTicks ? 0x100 : 0) |
    (fragment.sampleFlags ? 0x400 : 0);
  const perSample = Array.from({ length: fragment.samples }, (_, i) =>
    [fragment.sampleDurationsTicks?.[i], fragment.sampleFlags?.[i]]
      .filter((value) => value !== undefined)
      .map(u32),
  ).flat();
  const firstSampleFlags = fragment.firstSampleFlags === undefined ? [] : [u32(fragment.firstSampleFlags)];
  const trun = fullBox('trun', 0, trunFlags, u32(fragment.samples), ...firstSampleFlags, ...perSample);
  const moof = box('moof', fullBox('mfhd', 0, 0, u32(1)), box('traf', tfhd, tfdt, trun));
  return Buffer.concat([moof, box('mdat', Buffer.alloc(fragment.samples))]);
}
