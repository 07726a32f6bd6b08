import { planEncode } from '../../src/ingest/codec-policy.js';
import { buildIngestArgs } from '../../src/ingest/ffmpeg-args.js';

/**
 * The baseline of the benchmarks: ffmpeg's argv for remuxing an H.264 camera to HLS, exactly as camrelay
 * builds it for its own ffmpeg (ready for spawn: the binary's arguments, output last).
 */
export function bareRemuxArgv(
  cameraUrl: string,
  outputDir: string,
  { ioTimeoutMs = 5000, segmentDurationSec = 1, listSize = 6 } = {},
): string[] {
  const args = buildIngestArgs({
    url: cameraUrl,
    rtspTransport: 'tcp',
    ioTimeoutMs,
    plan: planEncode('auto', {
      video: { codec: 'h264', profile: null, pixelFormat: null, width: null, height: null, fps: null },
      audio: null,
    }),
    outputDir,
    runId: 'bare',
    segmentDurationSec,
    listSize,
    container: 'hls-files',
    partDurationMs: 200,
  });
  return [...args.inputOptions, '-i', args.input, ...args.outputOptions, '-y', args.output];
}
