/** What ffmpeg found in the camera's stream, read from its "Input #0" dump. */
export interface InputStreams {
  video: VideoStream | null;
  audio: AudioStream | null;
}

export interface VideoStream {
  codec: string;
  profile: string | null;
  pixelFormat: string | null;
  width: number | null;
  height: number | null;
  fps: number | null;
}

export interface AudioStream {
  codec: string;
  sampleRateHz: number | null;
  channels: string | null;
}

const STREAM =
  /^\s*Stream #\d+:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio|Data|Subtitle|Attachment): (.*)$/;

/**
 * Reads ffmpeg's input dump line by line (pure: no I/O). Feed it the messages of stderr lines;
 * it is complete once ffmpeg moves on to "Stream mapping:" or "Output #0", and only the first video
 * and the first audio stream count, as the ingest maps 0:v:0 and 0:a:0.
 */
export class InputDumpReader {
  private section: 'before' | 'input' | 'done' = 'before';
  private readonly streams: InputStreams = { video: null, audio: null };

  /** Returns the streams once the input dump has ended, null before that. */
  push(message: string): InputStreams | null {
    if (this.section === 'done') return null;
    if (/^Input #0,/.test(message)) {
      this.section = 'input';
      return null;
    }
    if (this.section !== 'input') return null;
    if (/^(Stream mapping:|Output #0,)/.test(message)) {
      this.section = 'done';
      return this.streams;
    }
    const match = STREAM.exec(message);
    if (match?.[1] === 'Video' && !this.streams.video) this.streams.video = parseVideo(match[2] ?? '');
    if (match?.[1] === 'Audio' && !this.streams.audio) this.streams.audio = parseAudio(match[2] ?? '');
    return null;
  }

  get complete(): boolean {
    return this.section === 'done';
  }
}

/** "h264 (Constrained Baseline), yuv420p(tv, smpte170m, progressive), 640x360 [SAR 1:1 DAR 16:9], 25 fps, …" */
function parseVideo(details: string): VideoStream {
  const head = /^([\w-]+)(?: \(([^)]*)\))?/.exec(details);
  const size = /(?:^|[ ,])(\d{2,5})x(\d{2,5})(?:[ ,]|$)/.exec(details);
  const fps = /([\d.]+) fps/.exec(details);
  const pixelFormat = /^[^,]*, ([a-z0-9_]+)(?:\(|,|$)/.exec(details);
  return {
    codec: head?.[1] ?? 'unknown',
    profile: head?.[2] ?? null,
    pixelFormat: pixelFormat?.[1] ?? null,
    width: size ? Number(size[1]) : null,
    height: size ? Number(size[2]) : null,
    fps: fps ? Number(fps[1]) : null,
  };
}

/** "pcm_alaw, 8000 Hz, mono, s16, 64 kb/s" or "aac (LC), 16000 Hz, mono, fltp" */
function parseAudio(details: string): AudioStream {
  const codec = /^([\w-]+)/.exec(details);
  const rate = /(\d+) Hz/.exec(details);
  const channels = /Hz, ([^,]+)/.exec(details);
  return {
    codec: codec?.[1] ?? 'unknown',
    sampleRateHz: rate ? Number(rate[1]) : null,
    channels: channels?.[1]?.trim() ?? null,
  };
}
