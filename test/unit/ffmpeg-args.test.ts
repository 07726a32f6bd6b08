import { describe, expect, it } from 'vitest';
import { type EncodePlan, planEncode, planFits } from '../../src/ingest/codec-policy.js';
import { buildIngestArgs } from '../../src/ingest/ffmpeg-args.js';
import type { InputStreams } from '../../src/ingest/input-streams.js';

const video = (codec: string) => ({
  codec,
  profile: null,
  pixelFormat: 'yuv420p',
  width: 640,
  height: 360,
  fps: 25,
});
const audio = (codec: string, sampleRateHz = 8000) => ({ codec, sampleRateHz, channels: 'mono' });
const h264: InputStreams = { video: video('h264'), audio: null };
const h264Pcma: InputStreams = { video: video('h264'), audio: audio('pcm_alaw') };
const h264Aac: InputStreams = { video: video('h264'), audio: audio('aac', 48000) };
const hevc: InputStreams = { video: video('hevc'), audio: null };

function argsFor(plan: EncodePlan, url = 'rtsp://cam/live') {
  return buildIngestArgs({
    url,
    rtspTransport: 'tcp',
    ioTimeoutMs: 5000,
    plan,
    outputDir: '/data/hls/gate',
    runId: 'r1',
    segmentDurationSec: 1,
    listSize: 6,
    container: 'hls-files',
    partDurationMs: 200,
  });
}

function option(list: string[], name: string): string | undefined {
  const at = list.indexOf(name);
  return at >= 0 ? list[at + 1] : undefined;
}

describe('planEncode (transcode: auto)', () => {
  it('copies H.264 and leaves absent audio absent', () => {
    expect(planEncode('auto', h264)).toEqual({ video: 'copy', audio: 'none', audioSampleRateHz: null });
  });
  it('transcodes H.265 to H.264', () => {
    expect(planEncode('auto', hevc).video).toBe('h264');
  });
  it('copies AAC, converts G.711 to AAC at a rate browsers decode', () => {
    expect(planEncode('auto', h264Aac).audio).toBe('copy');
    expect(planEncode('auto', h264Pcma)).toEqual({ video: 'copy', audio: 'aac', audioSampleRateHz: 16000 });
  });
  it('assumes H.264 with any audio for a camera it has never seen', () => {
    expect(planEncode('auto', null)).toEqual({ video: 'copy', audio: 'aac', audioSampleRateHz: null });
  });
});

describe('planEncode (forced)', () => {
  it('copy copies even H.265, h264 transcodes even H.264', () => {
    expect(planEncode('copy', hevc).video).toBe('copy');
    expect(planEncode('h264', h264).video).toBe('h264');
  });
  it('keeps the audio policy either way', () => {
    expect(planEncode('copy', h264Pcma).audio).toBe('aac');
    expect(planEncode('h264', h264Aac).audio).toBe('copy');
  });
});

describe('planFits', () => {
  const guess = planEncode('auto', null);
  it('accepts the first guess for H.264 cameras without audio', () => {
    expect(planFits(guess, 'auto', h264)).toBe(true);
  });
  it('asks for a new plan when the camera sends H.265, AAC, or 8 kHz G.711', () => {
    expect(planFits(guess, 'auto', hevc)).toBe(false);
    expect(planFits(guess, 'auto', h264Aac)).toBe(false);
    expect(planFits(guess, 'auto', h264Pcma)).toBe(false);
  });
  it('accepts a plan made for the same streams', () => {
    for (const input of [h264, hevc, h264Aac, h264Pcma]) {
      expect(planFits(planEncode('auto', input), 'auto', input)).toBe(true);
    }
  });
});

describe('buildIngestArgs', () => {
  it('remuxes: video copy, RTSP over TCP with an I/O timeout, progress on stdout', () => {
    const args = argsFor(planEncode('auto', h264));
    expect(args.input).toBe('rtsp://cam/live');
    expect(option(args.inputOptions, '-rtsp_transport')).toBe('tcp');
    expect(option(args.inputOptions, '-timeout')).toBe('5000000');
    expect(option(args.inputOptions, '-progress')).toBe('pipe:1');
    expect(option(args.outputOptions, '-c:v')).toBe('copy');
    expect(args.outputOptions).toContain('-an');
    expect(args.outputOptions).not.toContain('libx264');
  });

  it('transcodes H.265 to browser-safe H.264 with a keyframe per segment', () => {
    const args = argsFor(planEncode('auto', hevc));
    expect(option(args.outputOptions, '-c:v')).toBe('libx264');
    expect(option(args.outputOptions, '-pix_fmt')).toBe('yuv420p');
    expect(option(args.outputOptions, '-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
  });

  it('converts G.711 to AAC and copies AAC', () => {
    const pcma = argsFor(planEncode('auto', h264Pcma)).outputOptions;
    expect(option(pcma, '-c:a')).toBe('aac');
    expect(option(pcma, '-ar')).toBe('16000');
    expect(option(argsFor(planEncode('auto', h264Aac)).outputOptions, '-c:a')).toBe('copy');
  });

  it('writes a rolling HLS window with program date time, never an end tag, names unique to the run', () => {
    const { outputOptions, output } = argsFor(planEncode('auto', h264));
    expect(output).toBe('/data/hls/gate/index.m3u8');
    expect(option(outputOptions, '-f')).toBe('hls');
    expect(option(outputOptions, '-hls_time')).toBe('1');
    expect(option(outputOptions, '-hls_list_size')).toBe('6');
    expect(option(outputOptions, '-hls_flags')?.split('+')).toEqual(
      expect.arrayContaining(['delete_segments', 'program_date_time', 'omit_endlist', 'temp_file']),
    );
    expect(option(outputOptions, '-hls_segment_filename')).toBe('/data/hls/gate/r1-%d.ts');
  });

  it('uses the transport asked for, and a generic timeout for RTMP', () => {
    const udp = buildIngestArgs({ ...baseInput(), rtspTransport: 'udp' });
    expect(option(udp.inputOptions, '-rtsp_transport')).toBe('udp');
    const rtmp = buildIngestArgs({ ...baseInput(), url: 'rtmp://encoder/live/1' });
    expect(option(rtmp.inputOptions, '-rw_timeout')).toBe('5000000');
    expect(rtmp.inputOptions).not.toContain('-rtsp_transport');
  });

  it('lets ffmpeg open only the protocols of the camera scheme', () => {
    expect(option(argsFor(planEncode('auto', h264)).inputOptions, '-protocol_whitelist')).toBe(
      'rtsp,rtp,srtp,udp,tcp',
    );
    const rtmp = buildIngestArgs({ ...baseInput(), url: 'rtmp://encoder/live/1' });
    expect(option(rtmp.inputOptions, '-protocol_whitelist')).toBe('rtmp,tcp');
    expect(() => buildIngestArgs({ ...baseInput(), url: 'file:///etc/passwd' })).toThrow(
      /no protocol whitelist/,
    );
  });

  it('never puts the URL among the options', () => {
    const url = 'rtsp://admin:secret@cam/live';
    const args = argsFor(planEncode('auto', h264), url);
    expect([...args.inputOptions, ...args.outputOptions].join(' ')).not.toContain('secret');
  });
});

function baseInput() {
  return {
    url: 'rtsp://cam/live',
    rtspTransport: 'tcp' as const,
    ioTimeoutMs: 5000,
    plan: planEncode('auto', h264),
    outputDir: '/data/hls/gate',
    runId: 'r1',
    segmentDurationSec: 1,
    listSize: 6,
    container: 'hls-files' as const,
    partDurationMs: 200,
  };
}
