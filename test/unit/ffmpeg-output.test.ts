import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactSecrets, secretsOf } from '../../src/cameras/url.js';
import { classifyExit } from '../../src/ingest/classify.js';
import { InputDumpReader, type InputStreams } from '../../src/ingest/input-streams.js';
import { parseMediaPlaylist } from '../../src/ingest/playlist.js';
import { ProgressReader } from '../../src/ingest/progress.js';
import { parseStderrLine, type StderrLine } from '../../src/ingest/stderr-line.js';

/** Output captured from real ffmpeg 5.1 runs against the GStreamer test cameras (see test/fixtures/ffmpeg). */
function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/ffmpeg/${name}`, import.meta.url), 'utf8');
}

function stderrLines(name: string): StderrLine[] {
  return fixture(name)
    .split(/\r\n|\r|\n/)
    .filter(Boolean)
    .map(parseStderrLine);
}

function inputOf(name: string): InputStreams | null {
  const reader = new InputDumpReader();
  for (const line of stderrLines(name)) {
    const streams = reader.push(line.message);
    if (streams) return streams;
  }
  return null;
}

describe('parseStderrLine', () => {
  it('splits component, level and message', () => {
    expect(
      parseStderrLine('[rtsp @ 0x55a5c2bd6380] [error] method DESCRIBE failed: 401 Unauthorized'),
    ).toEqual({
      component: 'rtsp',
      level: 'error',
      message: 'method DESCRIBE failed: 401 Unauthorized',
    });
    expect(parseStderrLine('[info]   Stream #0:0: Video: h264')).toEqual({
      component: null,
      level: 'info',
      message: '  Stream #0:0: Video: h264',
    });
    expect(parseStderrLine('To ignore this, add a trailing ? to the map.').level).toBe('unknown');
  });
});

describe('InputDumpReader', () => {
  it('reads H.264 with G.711 audio', () => {
    expect(inputOf('h264-pcma.stderr.txt')).toEqual({
      video: {
        codec: 'h264',
        profile: 'Constrained Baseline',
        pixelFormat: 'yuv420p',
        width: 640,
        height: 360,
        fps: 25,
      },
      audio: { codec: 'pcm_alaw', sampleRateHz: 8000, channels: 'mono' },
    });
  });

  it('reads H.265 without audio, and stops before the output section', () => {
    const streams = inputOf('h265-transcode.stderr.txt');
    expect(streams?.video).toMatchObject({ codec: 'hevc', profile: 'Main', width: 640, height: 360 });
    expect(streams?.audio).toBeNull();
  });

  it('reads AAC audio', () => {
    expect(inputOf('h264-aac-copy.stderr.txt')?.audio).toEqual({
      codec: 'aac',
      sampleRateHz: 16000,
      channels: 'mono',
    });
  });

  it('sees no video in an audio-only source', () => {
    const reader = new InputDumpReader();
    for (const line of stderrLines('no-video.stderr.txt')) reader.push(line.message);
    expect(reader.complete).toBe(false);
  });
});

describe('ProgressReader', () => {
  it('reads blocks however the chunks are cut', () => {
    const text = fixture('h264-pcma.progress.txt');
    const whole = new ProgressReader().push(text);
    const reader = new ProgressReader();
    const pieces = [];
    for (let i = 0; i < text.length; i += 7) pieces.push(...reader.push(text.slice(i, i + 7)));
    expect(pieces).toEqual(whole);
    expect(whole.length).toBeGreaterThan(3);
    expect(whole[0]).toMatchObject({ frame: 0, outTimeUs: 0, speed: null, ended: false });
    expect(whole[1]).toMatchObject({ frame: 41, outTimeUs: 1649867, speed: 3.19 });
    const frames = whole.map((block) => block.frame ?? 0);
    expect(frames).toEqual([...frames].sort((a, b) => a - b));
    expect(whole.at(-1)?.ended).toBe(true);
  });
});

describe('parseMediaPlaylist', () => {
  it('reads the playlist ffmpeg writes', () => {
    const text = readFileSync(new URL('../fixtures/hls/index.m3u8', import.meta.url), 'utf8');
    const playlist = parseMediaPlaylist(text);
    expect(playlist?.mediaSequence).toBe(1795635299);
    expect(playlist?.targetDurationSec).toBe(1);
    expect(playlist?.ended).toBe(false);
    expect(playlist?.segments).toHaveLength(6);
    expect(playlist?.segments[0]).toEqual({
      uri: 'mwwivyl61-1795635299.ts',
      durationSec: 1,
      programDateTimeMs: Date.parse('2026-11-25T19:35:00.431Z'),
    });
  });

  it('refuses text that is not a playlist', () => {
    expect(parseMediaPlaylist('<html>')).toBeNull();
  });
});

describe('classifyExit', () => {
  const exit = (name: string, sawVideo: boolean | null = null) =>
    classifyExit({ exitCode: 1, signal: null, problems: stderrLines(name), sawVideo });

  it('wrong credentials: auth_failed, with the password masked once redacted', () => {
    const url = 'rtsp://admin:Wrong-Pass@127.0.0.1:45283/locked';
    const problems = fixture('auth-401.stderr.txt')
      .split('\n')
      .filter(Boolean)
      .map((line) => parseStderrLine(redactSecrets(line, secretsOf(url))));
    const failure = classifyExit({ exitCode: 1, signal: null, problems, sawVideo: null });
    expect(failure.status).toBe('auth_failed');
    expect(failure.reason).toContain('401 Unauthorized');
    expect(failure.reason).not.toContain('Wrong-Pass');
  });

  it('unknown path, refused port, silent listener: offline', () => {
    expect(exit('not-found-404.stderr.txt')).toMatchObject({
      status: 'offline',
      reason: expect.stringContaining('404'),
    });
    expect(exit('refused.stderr.txt')).toMatchObject({
      status: 'offline',
      reason: expect.stringContaining('refused'),
    });
    expect(exit('silent-listener-timeout.stderr.txt').status).toBe('offline');
  });

  it('no video stream: unsupported', () => {
    expect(exit('no-video.stderr.txt', false)).toMatchObject({ status: 'unsupported' });
  });

  it('a camera server that dies: offline because the stream ended, never a warning taken for the cause', () => {
    const problems = stderrLines('server-gone.stderr.txt').filter((line) => line.level === 'warning');
    expect(problems.map((line) => line.message).join('\n')).toContain('Non-monotonous DTS');
    expect(classifyExit({ exitCode: 0, signal: null, problems, sawVideo: true })).toEqual({
      status: 'offline',
      reason: 'the camera ended the stream',
    });
  });

  it('an exit with nothing said: offline, naming the exit', () => {
    expect(classifyExit({ exitCode: null, signal: 'SIGSEGV', problems: [], sawVideo: true })).toEqual({
      status: 'offline',
      reason: 'ffmpeg was killed by SIGSEGV',
    });
  });
});
