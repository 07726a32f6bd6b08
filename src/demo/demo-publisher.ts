import { redactSecrets } from '../cameras/url.js';
import { type FfmpegHandle, startFfmpeg } from '../ingest/ffmpeg.js';
import type { Logger } from '../log.js';

const RESTART_DELAY_MS = 2000;

export interface DemoPublisher {
  stop(): Promise<void>;
}

/**
 * The demo's field encoder: ffmpeg publishing a test pattern and a tone (H.264 + AAC, a keyframe a second)
 * to a push camera over RTMP, as a body camera or a car's encoder would, again after any drop, until stopped.
 * It runs under camrelay's ffmpeg leash, so it dies with the demo.
 */
export function startDemoPublisher(publishUrl: string, log: Logger): DemoPublisher {
  let current: FfmpegHandle | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const run = async () => {
    try {
      current = await startFfmpeg(
        {
          input: 'testsrc2=size=640x360:rate=25[out0];sine=frequency=440:sample_rate=44100[out1]',
          inputOptions: ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi'],
          output: publishUrl,
          outputOptions: [
            ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25'],
            ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv'],
          ],
        },
        // Its errors quote the publish URL, key and all: they stay out of the log.
        { onStderrLine: () => undefined, onStdout: () => undefined },
      );
      const exit = await current.exited;
      if (!stopped) log.debug({ exit }, 'demo publisher exited; publishing again');
    } catch (err) {
      log.warn({ reason: redactSecrets((err as Error).message, []) }, 'demo publisher did not start');
    }
    if (!stopped) timer = setTimeout(() => void run(), RESTART_DELAY_MS);
  };
  void run();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current?.stop(1000);
    },
  };
}
