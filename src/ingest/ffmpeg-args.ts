import path from 'node:path';
import type { EncodePlan } from './codec-policy.js';

export interface IngestArgsInput {
  url: string;
  rtspTransport: 'tcp' | 'udp';
  ioTimeoutMs: number;
  plan: EncodePlan;
  outputDir: string;
  /** Prefix of this run's segment names, so a restarted ffmpeg never reuses a name a player may have cached. */
  runId: string;
  segmentDurationSec: number;
  listSize: number;
  /**
   * `hls-files`: ffmpeg's HLS muxer writes MPEG-TS segments and the playlist to `outputDir`.
   * `fmp4-pipe`: fragmented MP4 on stdout, one fragment per part, for the LL-HLS packager; progress then
   * comes from the fragments, not from `-progress`.
   */
  container: 'hls-files' | 'fmp4-pipe';
  /** Part length (fMP4 fragment duration) for `fmp4-pipe`. */
  partDurationMs: number;
}

export interface FfmpegArgs {
  input: string;
  inputOptions: string[];
  outputOptions: string[];
  output: string;
}

export const PLAYLIST_NAME = 'index.m3u8';

/** The ffmpeg command for one ingest run, as data (pure), so every codec policy is tested without ffmpeg. */
export function buildIngestArgs(input: IngestArgsInput): FfmpegArgs {
  const piped = input.container === 'fmp4-pipe';
  return {
    input: input.url,
    inputOptions: [...globalOptions(piped), ...sourceOptions(input)],
    outputOptions: [
      '-map',
      '0:v:0',
      '-map',
      '0:a:0?',
      ...videoOptions(input.plan, input.segmentDurationSec),
      ...audioOptions(input.plan),
      ...(piped
        ? [...fragmentedMp4Options(input.partDurationMs), ...folderMark(input.outputDir)]
        : hlsOptions(input)),
    ],
    output: piped ? 'pipe:1' : path.join(input.outputDir, PLAYLIST_NAME),
  };
}

/**
 * Quiet stderr but for levelled messages. Progress as key=value on stdout instead of the stats line,
 * unless stdout carries the video.
 */
function globalOptions(piped: boolean): string[] {
  const quiet = ['-hide_banner', '-nostats', '-loglevel', 'level+info'];
  return piped ? quiet : [...quiet, '-progress', 'pipe:1'];
}

/**
 * A fragment at every keyframe and every `partDurationMs`, each self-contained (empty_moov puts the codec
 * setup in an init segment of its own; default_base_moof makes each fragment's offsets its own), flushed
 * as soon as it is complete.
 */
function fragmentedMp4Options(partDurationMs: number): string[] {
  return [
    '-f',
    'mp4',
    '-movflags',
    'frag_keyframe+empty_moov+default_base_moof',
    '-frag_duration',
    String(partDurationMs * 1000),
    '-flush_packets',
    '1',
  ];
}

/**
 * The protocols ffmpeg may open for each source scheme, and nothing else: a camera URL, or anything a
 * camera sends back (a redirect, a playlist naming other URLs), cannot make ffmpeg read a local file or
 * talk a protocol the deployment did not mean to allow.
 */
export const PROTOCOL_WHITELIST: Readonly<Record<string, string>> = {
  rtsp: 'rtsp,rtp,srtp,udp,tcp',
  rtsps: 'rtsps,rtsp,rtp,srtp,udp,tcp,tls',
  rtmp: 'rtmp,tcp',
  rtmps: 'rtmps,rtmp,tcp,tls',
  srt: 'srt,udp',
  http: 'http,tcp',
  https: 'https,http,tcp,tls',
};

function sourceOptions(input: IngestArgsInput): string[] {
  const timeoutUs = String(input.ioTimeoutMs * 1000);
  const scheme = input.url.slice(0, input.url.indexOf(':')).toLowerCase();
  const whitelist = PROTOCOL_WHITELIST[scheme];
  if (!whitelist) throw new Error(`no protocol whitelist for scheme ${scheme}`);
  const common = ['-protocol_whitelist', whitelist];
  if (scheme === 'rtsp' || scheme === 'rtsps') {
    return [...common, '-rtsp_transport', input.rtspTransport, '-timeout', timeoutUs];
  }
  return [...common, '-rw_timeout', timeoutUs];
}

function videoOptions(plan: EncodePlan, segmentDurationSec: number): string[] {
  if (plan.video === 'copy') return ['-c:v', 'copy'];
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-profile:v',
    'high',
    '-pix_fmt',
    'yuv420p',
    '-crf',
    '23',
    // A keyframe at every segment boundary, whatever the camera's GOP.
    '-force_key_frames',
    `expr:gte(t,n_forced*${segmentDurationSec})`,
    '-sc_threshold',
    '0',
  ];
}

function audioOptions(plan: EncodePlan): string[] {
  if (plan.audio === 'none') return ['-an'];
  if (plan.audio === 'copy') return ['-c:a', 'copy'];
  const rate = plan.audioSampleRateHz ? ['-ar', String(plan.audioSampleRateHz)] : [];
  return ['-c:a', 'aac', '-b:a', '64k', ...rate];
}

/**
 * Names the camera's folder on the command line, as the HLS muxer's paths do, so the process table tells
 * whose ffmpeg this is (the start-up sweep of orphans, the tests). -passlogfile is read only by two-pass
 * encoding, which the ingest never does: it is a name and nothing more.
 */
function folderMark(outputDir: string): string[] {
  return ['-passlogfile', path.join(outputDir, 'ffmpeg-pass')];
}

function hlsOptions(input: IngestArgsInput): string[] {
  return [
    '-f',
    'hls',
    '-hls_time',
    String(input.segmentDurationSec),
    '-hls_list_size',
    String(input.listSize),
    // omit_endlist: a restart must not tell players the stream is over.
    '-hls_flags',
    'delete_segments+program_date_time+independent_segments+temp_file+omit_endlist',
    // Media sequence from the clock keeps it rising across restarts, which players need.
    '-hls_start_number_source',
    'epoch',
    '-hls_segment_type',
    'mpegts',
    '-hls_segment_filename',
    path.join(input.outputDir, `${input.runId}-%d.ts`),
  ];
}
