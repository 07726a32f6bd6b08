import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveStream } from '../../src/llhls/live-stream.js';
import type { Segment } from '../../src/llhls/model.js';
import { Packager } from '../../src/llhls/packager.js';
import { renderPlaylist } from '../../src/llhls/playlist-text.js';
import { judgeReload, parseDirective } from '../../src/llhls/reload.js';
import { parsePlaylist } from '../support/llhls.js';

/** 6 s of a real camera (25 fps, 1 s GOP) through ffmpeg's fMP4 muxer: see test/fixtures/llhls/README.md. */
const FIXTURE = readFileSync(new URL('../fixtures/llhls/camera-h264-aac.mp4', import.meta.url));
const START_MS = Date.UTC(2026, 10, 26, 3, 0, 0);
const SETTINGS = { targetSegmentSec: 1, partTargetSec: 0.2, windowSegments: 3 };

/** The fixture cut at its top-level boxes: the init (ftyp+moov), then one moof+mdat per fragment. */
function pieces(): { init: Buffer; fragments: Buffer[] } {
  const boxes: { type: string; start: number; end: number }[] = [];
  for (let start = 0; start < FIXTURE.length; ) {
    const end = start + FIXTURE.readUInt32BE(start);
    boxes.push({ type: FIXTURE.toString('latin1', start + 4, start + 8), start, end });
    start = end;
  }
  const moofs = boxes.filter((box) => box.type === 'moof');
  const fragments = moofs.map((moof) => {
    const mdat = boxes[boxes.indexOf(moof) + 1];
    return FIXTURE.subarray(moof.start, mdat?.end);
  });
  return { init: FIXTURE.subarray(0, moofs[0]?.start), fragments };
}

const parse = parsePlaylist;

/** A packager fed the whole fixture, the last segment left open. */
function packagedFixture(windowSegments = 10): Packager {
  const packager = new Packager({
    runId: 'r1',
    firstMsn: 100,
    ...SETTINGS,
    windowSegments,
    nowMs: () => START_MS,
  });
  packager.push(FIXTURE);
  return packager;
}

function render(packager: Packager, lowLatency: boolean, skip = false, targetSegmentSec = 1): string {
  return (
    renderPlaylist(
      {
        initName: packager.initName,
        segments: packager.segments(),
        targetSegmentSec,
        partTargetSec: 0.2,
        nextPartName: packager.nextPartName(),
      },
      { lowLatency, skip },
    ) ?? ''
  );
}

/** A synthetic window of `count` segments of five 0.2 s parts; the last one open with one part. */
function windowOf(count: number): { initName: string; segments: Segment[] } {
  const segments = Array.from({ length: count }, (_, msn): Segment => {
    const open = msn === count - 1;
    const parts = Array.from({ length: open ? 1 : 5 }, (_, index) => ({
      msn,
      index,
      name: `r1-${msn}-${index}.m4s`,
      bytes: Buffer.alloc(8),
      durationSec: 0.2,
      startSec: msn + index * 0.2,
      independent: index === 0,
      videoFrames: 5,
      completedAtMs: START_MS + msn * 1000 + (index + 1) * 200,
    }));
    return {
      msn,
      name: `r1-${msn}.m4s`,
      parts,
      durationSec: parts.length * 0.2,
      programDateTimeMs: START_MS + msn * 1000,
      complete: !open,
    };
  });
  return { initName: 'r1-init.mp4', segments };
}

describe('LL-HLS playlist text', () => {
  it('lists parts, server control, part target, the map, date-times and a preload hint, as m3u8-parser reads them', () => {
    const packager = packagedFixture();
    const { manifest, warnings } = parse(render(packager, true));
    expect(warnings).toEqual([]);
    expect(manifest.version).toBe(9);
    expect(manifest.serverControl).toMatchObject({ canBlockReload: true, partHoldBack: 0.6 });
    expect(manifest.partInf).toEqual({ partTarget: 0.2 });
    expect(manifest.mediaSequence).toBe(100);
    const windowSegments = packager.segments();
    const complete = windowSegments.filter((s) => s.complete);
    const open = windowSegments.at(-1) as Segment;
    expect(open.complete).toBe(false);
    expect(manifest.segments.map((s) => s.uri)).toEqual(complete.map((s) => s.name));
    for (const [i, segment] of manifest.segments.entries()) {
      expect(segment.duration).toBeCloseTo(complete[i]?.durationSec ?? -1, 3);
      expect(segment.map?.uri).toBe('r1-init.mp4');
      expect(Date.parse(segment.dateTimeString ?? '')).toBe(Math.floor(complete[i]?.programDateTimeMs ?? 0));
    }
    // Parts are listed for the last three target durations only, and for the open segment.
    const listedParts = manifest.segments.filter((s) => s.parts?.length);
    expect(listedParts.length).toBeGreaterThan(0);
    expect(listedParts.length).toBeLessThan(manifest.segments.length);
    for (const segment of listedParts) {
      const source = complete.find((s) => s.name === segment.uri) as Segment;
      expect(segment.parts?.map((p) => p.uri)).toEqual(source.parts.map((p) => p.name));
      expect(segment.parts?.[0]?.independent).toBe(true);
      expect(segment.parts?.slice(1).some((p) => p.independent)).toBe(false);
      const partsSec = (segment.parts ?? []).reduce((sum, p) => sum + p.duration, 0);
      expect(partsSec).toBeCloseTo(segment.duration, 3);
    }
    expect(manifest.preloadSegment?.parts?.map((p) => p.uri)).toEqual(open.parts.map((p) => p.name));
    // The next part: the open segment's next, or a new segment's first when the open one is long enough.
    const hint = packager.nextPartName();
    expect([`r1-${open.msn}-${open.parts.length}.m4s`, `r1-${open.msn + 1}-0.m4s`]).toContain(hint);
    expect(manifest.preloadSegment?.preloadHints).toEqual([{ type: 'PART', uri: hint }]);
  });

  it('gives classic players the complete segments of the same window, with no LL-HLS tags', () => {
    const packager = packagedFixture();
    const text = render(packager, false);
    expect(text).not.toMatch(/EXT-X-PART|PRELOAD-HINT|SERVER-CONTROL/);
    const { manifest, warnings } = parse(text);
    expect(warnings).toEqual([]);
    expect(manifest.segments.map((s) => s.uri)).toEqual(
      packager
        .segments()
        .filter((s) => s.complete)
        .map((s) => s.name),
    );
    expect(manifest.targetDuration).toBe(1);
  });

  it('offers delta updates only when the window is long enough to skip, and skips what is older', () => {
    const short = render(packagedFixture(), true, true);
    expect(short).not.toContain('CAN-SKIP-UNTIL');
    expect(short).not.toContain('EXT-X-SKIP');
    // Twelve 1 s segments: more than the six target durations a delta update must still list, plus one.
    const long = { ...windowOf(12), targetSegmentSec: 1, partTargetSec: 0.2, nextPartName: 'r1-12-1.m4s' };
    const full = parse(renderPlaylist(long, { lowLatency: true, skip: false }) ?? '');
    const delta = parse(renderPlaylist(long, { lowLatency: true, skip: true }) ?? '');
    expect(full.warnings).toEqual([]);
    expect(full.manifest.serverControl?.canSkipUntil).toBe(6);
    expect(full.manifest.segments).toHaveLength(11);
    expect(delta.manifest.skip).toEqual({ skippedSegments: 5 });
    expect(delta.manifest.segments.map((s) => s.uri)).toEqual(
      full.manifest.segments.slice(5).map((s) => s.uri),
    );
  });

  it('keeps TARGETDURATION at or above every segment, rounded', () => {
    const text = render(packagedFixture(), false);
    const target = Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(text)?.[1]);
    const longest = Math.max(...[...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1])));
    expect(Math.round(longest)).toBeLessThanOrEqual(target);
  });
});

describe('blocking reload: what a request may wait for', () => {
  const edge = { msn: 10, part: 2, lastCompleteMsn: 9 };
  const judge = (msn: number | null, part: number | null) =>
    judgeReload({ msn, part, skip: false }, edge, 0.2, 5).kind;

  it('answers at once what exists, waits for what is next, and refuses what is too far ahead', () => {
    expect(judge(null, null)).toBe('now');
    expect(judge(10, 2)).toBe('now');
    expect(judge(8, 4)).toBe('now');
    expect(judge(9, null)).toBe('now');
    expect(judge(10, 3)).toBe('wait');
    expect(judge(10, null)).toBe('wait');
    expect(judge(11, 0)).toBe('wait');
    expect(judge(12, 4)).toBe('wait');
    // More than two segments past the newest, or more than 3 / PART-TARGET = 15 parts past the newest part.
    expect(judge(13, null)).toBe('bad-request');
    expect(judge(10, 18)).toBe('bad-request');
    expect(judge(12, 9)).toBe('bad-request');
  });

  it('reads directives strictly', () => {
    expect(parseDirective({ _HLS_msn: '12', _HLS_part: '3', _HLS_skip: 'YES' })).toEqual({
      msn: 12,
      part: 3,
      skip: true,
    });
    expect(parseDirective({ _HLS_part: '3' })).toEqual({ invalid: '_HLS_part needs _HLS_msn' });
    expect(parseDirective({ _HLS_msn: '-1' })).toHaveProperty('invalid');
    expect(parseDirective({ _HLS_msn: '1e3' })).toHaveProperty('invalid');
    expect(parseDirective({ _HLS_msn: '4', _HLS_part: 'x' })).toHaveProperty('invalid');
  });
});

describe('a live stream holding requests', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function liveAt(nowMs: () => number) {
    const stream = new LiveStream('cam', SETTINGS, nowMs);
    const packager = stream.startRun('r1');
    const { init, fragments } = pieces();
    packager.push(init);
    for (const fragment of fragments.slice(0, 8)) packager.push(fragment);
    return { stream, packager, rest: fragments.slice(8) };
  }

  it('answers a request for the next part in the same tick the part completes, and not before', async () => {
    const { stream, packager, rest } = liveAt(Date.now);
    const edge = stream.edge();
    if (!edge) throw new Error('no edge');
    let answered = false;
    const held = stream.playlist({ msn: edge.msn, part: edge.part + 1, skip: false }, true).then((answer) => {
      answered = true;
      return answer;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    packager.push(rest[0] as Buffer);
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(true);
    const answer = await held;
    expect(answer?.kind).toBe('playlist');
    const text = answer?.kind === 'playlist' ? answer.body.toString() : '';
    const newest = stream.edge();
    expect(newest).not.toEqual(edge);
    const newestPart = packager.segments().at(-1)?.parts.at(-1)?.name as string;
    expect(text).toContain(`URI="${newestPart}"`);
  });

  it('answers the past at once, refuses the far future, and gives up on a part that never comes', async () => {
    vi.useFakeTimers();
    const { stream } = liveAt(Date.now);
    const edge = stream.edge();
    if (!edge) throw new Error('no edge');
    expect((await stream.playlist({ msn: edge.msn - 1, part: 0, skip: false }, true))?.kind).toBe('playlist');
    expect((await stream.playlist({ msn: edge.msn + 3, part: null, skip: false }, true))?.kind).toBe(
      'bad-request',
    );
    const held = stream.playlist({ msn: edge.msn + 1, part: 0, skip: false }, true);
    await vi.advanceTimersByTimeAsync(2999);
    let settled = false;
    void held.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    expect((await held)?.kind).toBe('unavailable');
  });

  it('holds a request for the preload-hinted part until it is complete, and says no to one that never will be', async () => {
    const { stream, packager, rest } = liveAt(Date.now);
    const hinted = packager.nextPartName() as string;
    const file = stream.file(hinted);
    packager.push(rest[0] as Buffer);
    const bytes = await file;
    expect(bytes?.equals(rest[0] as Buffer)).toBe(true);
    expect(await stream.file('r0-1-1.m4s')).toBeNull();
    expect(await stream.file(`r1-${(stream.edge()?.msn ?? 0) - 1}-40.m4s`)).toBeNull();
  });

  it('lets go of held requests when the camera leaves', async () => {
    const { stream } = liveAt(Date.now);
    const edge = stream.edge();
    if (!edge) throw new Error('no edge');
    const held = stream.playlist({ msn: edge.msn + 1, part: 0, skip: false }, true);
    const startedMs = Date.now();
    stream.close();
    expect(await held).toBeNull();
    expect(Date.now() - startedMs).toBeLessThan(100);
  });

  it("carries the media sequence on across runs, so a player's next request is met by the new run", async () => {
    const { stream, packager } = liveAt(() => START_MS);
    const before = stream.edge();
    stream.endRun(packager);
    const next = stream.startRun('r2');
    const msns: number[] = [];
    next.on('part', (part) => msns.push(part.msn));
    next.push(FIXTURE);
    expect(stream.edge()?.msn).toBeGreaterThan(before?.msn ?? Number.POSITIVE_INFINITY);
    expect(msns[0]).toBe((before?.msn ?? 0) + 1);
  });
});
