import type { InputStreams } from './input-streams.js';

export type TranscodePolicy = 'auto' | 'copy' | 'h264';

/** What ffmpeg does with each track. Copying costs about 1/50 of transcoding, so copy whenever browsers can play it. */
export interface EncodePlan {
  video: 'copy' | 'h264';
  audio: 'copy' | 'aac' | 'none';
  /** Resample audio to this rate: AAC at G.711's 8 kHz is below what browsers reliably decode. */
  audioSampleRateHz: number | null;
}

/** Video codecs every browser with MSE decodes in MPEG-TS HLS. */
const BROWSER_VIDEO = new Set(['h264']);
const MIN_AAC_SAMPLE_RATE_HZ = 16_000;

/**
 * The plan for a camera. With `input` unknown (never seen this camera), it assumes H.264 and converts any
 * audio to AAC; the ingest then checks the plan against what ffmpeg reports and re-plans once if it must.
 */
export function planEncode(policy: TranscodePolicy, input: InputStreams | null): EncodePlan {
  const video = policy === 'h264' ? 'h264' : policy === 'copy' || !input ? 'copy' : videoFor(input);
  if (!input) return { video, audio: 'aac', audioSampleRateHz: null };
  const audio = !input.audio ? 'none' : input.audio.codec === 'aac' ? 'copy' : 'aac';
  const rate = input.audio?.sampleRateHz ?? null;
  return {
    video,
    audio,
    audioSampleRateHz:
      audio === 'aac' && rate !== null && rate < MIN_AAC_SAMPLE_RATE_HZ ? MIN_AAC_SAMPLE_RATE_HZ : null,
  };
}

function videoFor(input: InputStreams): EncodePlan['video'] {
  return input.video && BROWSER_VIDEO.has(input.video.codec) ? 'copy' : 'h264';
}

/**
 * Whether a running plan is the one the camera's actual streams call for. Audio that is absent fits any
 * plan (the audio map is optional); anything else must match exactly, so AAC is copied, not re-encoded.
 */
export function planFits(plan: EncodePlan, policy: TranscodePolicy, input: InputStreams): boolean {
  const wanted = planEncode(policy, input);
  if (plan.video !== wanted.video) return false;
  if (wanted.audio === 'none') return true;
  return plan.audio === wanted.audio && plan.audioSampleRateHz === wanted.audioSampleRateHz;
}
