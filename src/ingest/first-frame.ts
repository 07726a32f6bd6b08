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
export async function firstFrameJpeg(segment: Buffer): Promise<Buffer> {
  const file = path.join(tmpdir(), `camrelay-snapshot-${randomBytes(8).toString('hex')}.ts`);
  await writeFile(file, segment);
  try {
    return await decodeFirstFrame(file);
  } finally {
    await rm(file, { force: true });
  }
}

function decodeFirstFrame(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const jpeg = new PassThrough();
    jpeg.on('data', (chunk: Buffer) => chunks.push(chunk));
    ffmpeg(file)
      .inputFormat('mpegts')
      .outputOptions(['-map', '0:v:0', '-frames:v', '1', '-q:v', String(JPEG_QUALITY)])
      .videoCodec('mjpeg')
      .format('image2pipe')
      // Its error text quotes stderr: say only that decoding failed.
      .on('error', () => reject(new Error('could not decode a frame of the newest segment')))
      .on('end', () => resolve(Buffer.concat(chunks)))
      .pipe(jpeg, { end: true });
  });
}
