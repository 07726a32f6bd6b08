import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';

/** JPEG quality on ffmpeg's mjpeg scale (2 best, 31 worst): sharp enough to recognise a scene. */
const JPEG_QUALITY = 4;

/**
 * The first frame of an HLS segment as a JPEG. Segments begin with a keyframe, so this decodes one frame
 * of what the ingest already wrote, and never opens a second connection to the camera. Runs through
 * fluent-ffmpeg as configured by configureFfmpeg (the leash). The segment goes through a file, not stdin:
 * ffmpeg stops reading once it has its frame, and a pipe would then fail the write mid-segment.
 */
export async function firstFrameJpeg(media: SegmentMedia): Promise<Buffer> {
  const extension = media.format === 'mp4' ? 'mp4' : 'ts';
  const file = path.join(tmpdir(), `camrelay-snapshot-${randomBytes(8).toString('hex')}.${extension}`);
  await writeFile(file, media.bytes);
  try {
    return await decodeFirstFrame(file, media.format);
  } finally {
    await rm(file, { force: true });
  }
}

/** A segment as ffmpeg can read it: MPEG-TS alone, or fMP4 with its init segment in front. */
export interface SegmentMedia {
  bytes: Buffer;
  format: 'mpegts' | 'mp4';
}

function decodeFirstFrame(file: string, format: SegmentMedia['format']): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const jpeg = new PassThrough();
    jpeg.on('data', (chunk: Buffer) => chunks.push(chunk));
    ffmpeg(file)
      .inputFormat(format)
      .outputOptions(['-map', '0:v:0', '-frames:v', '1', '-q:v', String(JPEG_QUALITY)])
      .videoCodec('mjpeg')
      .format('image2pipe')
      // Its error text quotes stderr: say only that decoding failed.
      .on('error', () => reject(new Error('could not decode a frame of the newest segment')))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .pipe(jpeg, { end: true });
  });
}
