/**
 * Reads the capture time that the stamp camera (fixtures/rtsp-cameras.py, kind `stamp`) writes into the
 * top of each frame. Pure, so it runs the same in the benchmark's page and in the unit test.
 *
 * The layout, shared with the camera (change both together): 16x16 blocks on the encoder's macroblock grid.
 * Two lines carry 24 bits each of the epoch milliseconds, the high half first, most significant bit first;
 * each line is a row of blocks and, right below it, the same row inverted. Every row starts with two
 * reference blocks, white then black (inverted below).
 */
export const STAMP_BLOCK_PX = 16;
const BITS_PER_LINE = 24;
const LINES = 2;
const REFERENCE_BLOCKS = 2;
/** The part of the frame, from its top left corner, that holds the stamp: what a reader has to copy. */
export const STAMP_WIDTH_PX = (REFERENCE_BLOCKS + BITS_PER_LINE) * STAMP_BLOCK_PX;
export const STAMP_HEIGHT_PX = LINES * 2 * STAMP_BLOCK_PX;

/**
 * Black and white differ by 219 in video-range luma. Less than this between the reference blocks is not
 * a stamp (another picture, or a frame the decoder has not filled in yet).
 */
const MIN_CONTRAST = 96;
/** A block nearer the threshold than this share of the contrast is neither black nor white: unreadable. */
const MIN_MARGIN_SHARE = 0.25;

/** Pixels with `channels` bytes each, row by row: 1 for luma, 4 for RGBA (a canvas's ImageData). */
export interface StampImage {
  readonly data: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 4;
}

/**
 * The epoch milliseconds stamped into the image, or null when any block is unclear or disagrees with its
 * inverted twin: a misread stamp would pass for an absurd latency, so in doubt there is no reading.
 */
export function decodeStamp(image: StampImage): number | null {
  if (image.width < STAMP_WIDTH_PX || image.height < STAMP_HEIGHT_PX) return null;
  const block = (row: number, column: number) => blockBrightness(image, row, column);
  // A row of bits has its white reference first, the inverted row below it its black one.
  const rows = Array.from({ length: LINES * 2 }, (_, row) => row);
  const whites = rows.map((row) => block(row, row % 2));
  const blacks = rows.map((row) => block(row, 1 - (row % 2)));
  const white = Math.min(...whites);
  const black = Math.max(...blacks);
  if (white - black < MIN_CONTRAST) return null;
  const threshold = (white + black) / 2;
  const marginOf = (value: number) => Math.abs(value - threshold);
  const minMargin = MIN_MARGIN_SHARE * (white - black);
  let epochMs = 0;
  for (let line = 0; line < LINES; line++) {
    for (let bit = 0; bit < BITS_PER_LINE; bit++) {
      const plain = block(2 * line, REFERENCE_BLOCKS + bit);
      const inverted = block(2 * line + 1, REFERENCE_BLOCKS + bit);
      if (marginOf(plain) < minMargin || marginOf(inverted) < minMargin) return null;
      const one = plain > threshold;
      if (one === inverted > threshold) return null;
      epochMs = epochMs * 2 + (one ? 1 : 0);
    }
  }
  return epochMs;
}

/**
 * Mean brightness of the middle half of one block: its edges are where chroma subsampling and the
 * encoder's deblocking blur black into white.
 */
function blockBrightness(image: StampImage, row: number, column: number): number {
  const inset = STAMP_BLOCK_PX / 4;
  const size = STAMP_BLOCK_PX / 2;
  const top = row * STAMP_BLOCK_PX + inset;
  const left = column * STAMP_BLOCK_PX + inset;
  let sum = 0;
  for (let y = top; y < top + size; y++) {
    for (let x = left; x < left + size; x++)
      sum += pixelBrightness(image, (y * image.width + x) * image.channels);
  }
  return sum / (size * size);
}

function pixelBrightness(image: StampImage, offset: number): number {
  const { data } = image;
  if (image.channels === 1) return data[offset] ?? 0;
  return ((data[offset] ?? 0) + (data[offset + 1] ?? 0) + (data[offset + 2] ?? 0)) / 3;
}
