import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareStreamIds } from '../../src/health/event-feed.js';
import { toStatusEvent } from '../../src/health/events.js';
import { findOrphans } from '../../src/ingest/orphans.js';
import { endpointOf } from '../../src/ingest/reachability.js';
import { parseStderrLine } from '../../src/ingest/stderr-line.js';
import { WarningTally, warningKind } from '../../src/ingest/warnings.js';

describe('warningKind', () => {
  it('sorts captured ffmpeg warnings into bounded kinds', () => {
    const text = readFileSync(new URL('../fixtures/ffmpeg/warnings.stderr.txt', import.meta.url), 'utf8');
    const kinds = text
      .split('\n')
      .filter(Boolean)
      .map((line) => warningKind(parseStderrLine(line).message));
    expect(kinds).toEqual([
      'non_monotonous_dts',
      'non_monotonous_dts',
      'non_monotonous_dts',
      'timestamps_unset',
      'other',
    ]);
    expect(warningKind('RTP: missed 12 packets')).toBe('packets_lost');
    expect(warningKind('corrupt decoded frame in stream 0')).toBe('corrupt_data');
  });

  it('tallies per interval', () => {
    const tally = new WarningTally();
    expect(tally.take()).toBeNull();
    tally.add('non_monotonous_dts');
    tally.add('non_monotonous_dts');
    tally.add('other');
    expect(tally.take()).toEqual({ non_monotonous_dts: 2, other: 1 });
    expect(tally.take()).toBeNull();
  });
});

describe('findOrphans', () => {
  const node = (pid: number) => ({ pid, ppid: 1, argv: ['/usr/bin/node', '/app/dist/main.js', 'worker'] });
  const ffmpeg = (pid: number, ppid: number, dir: string) => ({
    pid,
    ppid,
    argv: [
      '/usr/bin/ffmpeg',
      '-i',
      'rtsp://cam/1',
      '-hls_segment_filename',
      `${dir}/r-%d.ts`,
      `${dir}/index.m3u8`,
    ],
  });

  it('finds ffmpeg writing under HLS_ROOT whose parent is init, gone, or not camrelay', () => {
    const table = [
      node(100),
      ffmpeg(101, 100, '/data/hls/cam-a'), // a live worker's: kept
      ffmpeg(102, 1, '/data/hls/cam-b'), // re-parented to init
      ffmpeg(103, 999, '/data/hls/cam-c'), // parent gone
      { pid: 104, ppid: 1, argv: ['/bin/sh'] },
      ffmpeg(105, 104, '/data/hls/cam-d'), // parent is a shell
      ffmpeg(106, 1, '/elsewhere/cam-e'), // not ours
    ];
    expect(findOrphans(table, '/data/hls').map((p) => p.pid)).toEqual([102, 103, 105]);
  });
});

describe('status events', () => {
  it('orders stream ids numerically', () => {
    expect(compareStreamIds('1700000000000-2', '1700000000000-10')).toBe(-1);
    expect(compareStreamIds('1700000000001-0', '1700000000000-99')).toBe(1);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
  });

  it('reads a stream entry as an event', () => {
    const entry: [string, string[]] = [
      '1795637941411-0',
      [
        'camera',
        'gate',
        'from',
        '',
        'to',
        'starting',
        'reason',
        'waiting for a worker',
        'at',
        '1795637941411',
      ],
    ];
    expect(toStatusEvent(entry)).toEqual({
      id: '1795637941411-0',
      cameraId: 'gate',
      from: null,
      to: 'starting',
      reason: 'waiting for a worker',
      at: new Date(1795637941411).toISOString(),
    });
  });
});

describe('endpointOf', () => {
  it('takes the port from the URL or the scheme', () => {
    expect(endpointOf('rtsp://admin:x@10.0.0.5/live')).toEqual({ host: '10.0.0.5', port: 554 });
    expect(endpointOf('rtsp://10.0.0.5:8554/live')).toEqual({ host: '10.0.0.5', port: 8554 });
    expect(endpointOf('rtmp://[::1]/live/x')).toEqual({ host: '::1', port: 1935 });
    expect(endpointOf('not a url')).toBeNull();
  });
});
