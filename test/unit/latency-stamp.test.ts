import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeStamp, STAMP_BLOCK_PX, type StampImage } from '../../bench/latency/stamp.js';

/** Frames from the real stamp camera, decoded by ffmpeg (how: test/fixtures/latency/frames.json). */
const META = JSON.parse(
  readFileSync(new URL('../fixtures/latency/frames.json', import.meta.url), 'utf8'),
) as {
  width: number;
  height: number;
  stamp: { file: string; frames: number; ffmpegStartedAtMs: number; ffmpegExitedAtMs: number };
  ball: { file: string };
};
const FRAME_BYTES = META.width * META.height;

function frames(file: string): Uint8Array[] {
  const raw = gunzipSync(readFileSync(new URL(`../fixtures/latency/${file}`, import.meta.url)));
  const count = raw.length / FRAME_BYTES;
  return Array.from(
    { length: count },
    (_, i) => new Uint8Array(raw.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES)),
  );
}

function luma(data: Uint8Array): StampImage {
  return { data, width: META.width, height: META.height, channels: 1 };
}

/** The same picture as a canvas gives it to the page: RGBA, grey. */
function rgba(data: Uint8Array): StampImage {
  const out = new Uint8ClampedArray(data.length * 4);
  for (const [i, value] of data.entries()) out.set([value, value, value, 255], i * 4);
  return { data: out, width: META.width, height: META.height, channels: 4 };
}

/** Paints one block of the stamp a flat value. Row 0 and 2 carry bits, 1 and 3 their inverse. */
function paintBlock(data: Uint8Array, row: number, column: number, value: number): Uint8Array {
  const copy = new Uint8Array(data);
  for (let y = row * STAMP_BLOCK_PX; y < (row + 1) * STAMP_BLOCK_PX; y++) {
    const start = y * META.width + column * STAMP_BLOCK_PX;
    copy.fill(value, start, start + STAMP_BLOCK_PX);
  }
  return copy;
}

const stampFrames = frames(META.stamp.file);
const first = stampFrames[0] as Uint8Array;

describe('decodeStamp on frames of the real stamp camera', () => {
  it('reads every frame: stamps made while ffmpeg ran, 40 ms apart as the camera makes them (25 fps)', () => {
    const stamps = stampFrames.map((frame) => decodeStamp(luma(frame)));
    expect(stamps).toHaveLength(META.stamp.frames);
    for (const stamp of stamps) {
      expect(stamp).not.toBeNull();
      expect(stamp).toBeGreaterThanOrEqual(META.stamp.ffmpegStartedAtMs);
      expect(stamp).toBeLessThanOrEqual(META.stamp.ffmpegExitedAtMs);
    }
    const steps = stamps.slice(1).map((stamp, i) => (stamp ?? 0) - (stamps[i] ?? 0));
    for (const step of steps) expect(Math.abs(step - 40)).toBeLessThanOrEqual(3);
  });

  it('reads the same stamp from RGBA, as the page draws the frame into a canvas', () => {
    expect(decodeStamp(rgba(first))).toBe(decodeStamp(luma(first)));
  });

  it('finds no stamp in an ordinary camera frame (the moving ball and its name)', () => {
    const [ball] = frames(META.ball.file);
    expect(decodeStamp(luma(ball as Uint8Array))).toBeNull();
  });

  it('refuses a frame where one bit and its inverted twin agree, rather than read another time', () => {
    const bitBlock = { row: 0, column: 10 };
    const flipped = (value: number) => paintBlock(first, bitBlock.row, bitBlock.column, value);
    // One of the two paints leaves the block as it was; the other flips it.
    const readings = [flipped(16), flipped(235)].map((frame) => decodeStamp(luma(frame)));
    expect(readings).toContain(decodeStamp(luma(first)));
    expect(readings).toContain(null);
  });

  it('refuses a block that is neither black nor white', () => {
    expect(decodeStamp(luma(paintBlock(first, 2, 20, 128)))).toBeNull();
  });

  it('refuses a faded picture, whose reference blocks are too close to tell black from white', () => {
    const faded = first.map((value) => Math.round(128 + (value - 128) * 0.3));
    expect(decodeStamp(luma(first))).not.toBeNull();
    expect(decodeStamp(luma(faded))).toBeNull();
  });

  it('refuses a picture too small to hold the stamp', () => {
    expect(decodeStamp({ data: first, width: 320, height: 64, channels: 1 })).toBeNull();
  });
});
