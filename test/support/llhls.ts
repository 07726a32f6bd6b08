/// <reference path="./m3u8-parser.d.ts" />
import { type ParsedManifest, type ParsedPart, Parser } from 'm3u8-parser';
import type { Part } from '../../src/llhls/model.js';
import { Packager } from '../../src/llhls/packager.js';

/** A playlist as m3u8-parser (an independent parser, videojs') reads it, with what it warned about. */
export function parsePlaylist(text: string): { manifest: ParsedManifest; warnings: string[] } {
  const parser = new Parser();
  const warnings: string[] = [];
  parser.on('warn', (event) => warnings.push(event.message));
  parser.push(text);
  parser.end();
  return { manifest: parser.manifest, warnings };
}

/** Every part a playlist lists, oldest first: those of complete segments, then those of the open one. */
export function listedParts(manifest: ParsedManifest): ParsedPart[] {
  return [...manifest.segments.flatMap((s) => s.parts ?? []), ...(manifest.preloadSegment?.parts ?? [])];
}

/** `<run>-<msn>-<part>.m4s` (a part) or `<run>-<msn>.m4s` (a segment), from a URI with or without query. */
export function mediaName(uri: string): { name: string; run: string; msn: number; part: number | null } {
  const name = uri.replace(/\?.*$/, '');
  const match = /^(?<run>[A-Za-z0-9]+)-(?<msn>\d+)(?:-(?<part>\d+))?\.m4s$/.exec(name)?.groups;
  if (!match) throw new Error(`not a part or segment name: ${uri}`);
  return {
    name,
    run: match.run as string,
    msn: Number(match.msn),
    part: match.part === undefined ? null : Number(match.part),
  };
}

/** A playlist URL asking for (msn, part): an LL-HLS blocking reload. */
export function blockingUrl(playlistUrl: URL, msn: number | string, part?: number | string): URL {
  const url = new URL(playlistUrl);
  url.searchParams.set('_HLS_msn', String(msn));
  if (part !== undefined) url.searchParams.set('_HLS_part', String(part));
  return url;
}

export interface TimedResponse {
  status: number;
  body: Buffer;
  text: string;
  /** Date.now() when the request was sent, and when the whole body had arrived. */
  sentAtMs: number;
  arrivedAtMs: number;
  elapsedMs: number;
}

/** A GET timed from sending to the last byte of the body, on the same clock the packager stamps parts with. */
export async function timedGet(url: URL | string): Promise<TimedResponse> {
  const sentAtMs = Date.now();
  const response = await fetch(url);
  const body = Buffer.from(await response.arrayBuffer());
  const arrivedAtMs = Date.now();
  return {
    status: response.status,
    body,
    text: body.toString('utf8'),
    sentAtMs,
    arrivedAtMs,
    elapsedMs: arrivedAtMs - sentAtMs,
  };
}

export interface SeenPart {
  name: string;
  msn: number;
  index: number;
  durationSec: number;
  /** The packager's stamp: when the part's last byte came from ffmpeg (Date.now()). */
  completedAtMs: number;
}

/**
 * The moment each part is complete, as the packagers of this process see it: an observer on
 * Packager#emit('part'), which changes nothing of what they do. Only for camrelays (or workers) started
 * in the test's own process; a part's name carries its run, so cameras do not mix.
 */
export class PartClock {
  private readonly seen = new Map<string, SeenPart>();
  private readonly waiters = new Set<(part: SeenPart) => void>();
  private readonly original = Packager.prototype.emit;
  private readonly hadOwn = Object.hasOwn(Packager.prototype, 'emit');

  constructor() {
    const original = this.original;
    const onPart = (part: Part) => this.onPart(part);
    Packager.prototype.emit = function (this: Packager, event: string, ...args: unknown[]) {
      if (event === 'part') onPart(args[0] as Part);
      return (original as (event: string, ...args: unknown[]) => boolean).call(this, event, ...args);
    } as typeof original;
  }

  /** When the named part was complete, if it is. */
  completion(name: string): SeenPart | undefined {
    return this.seen.get(name);
  }

  /** The next part of the given run to complete (of any run, without one). */
  next(run?: string, timeoutMs = 5000): Promise<SeenPart> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`no part${run ? ` of run ${run}` : ''} completed within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = (part: SeenPart) => {
        if (run && !part.name.startsWith(`${run}-`)) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(part);
      };
      this.waiters.add(wake);
    });
  }

  /** Waits until the named part has completed, and says when it did. */
  async completed(name: string, timeoutMs = 5000): Promise<SeenPart> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.seen.get(name);
      if (seen) return seen;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`part ${name} did not complete within ${timeoutMs} ms`);
      await this.next(undefined, left).catch(() => undefined);
    }
  }

  stop(): void {
    if (this.hadOwn) Packager.prototype.emit = this.original;
    else Reflect.deleteProperty(Packager.prototype, 'emit');
  }

  private onPart(part: Part): void {
    const seen = {
      name: part.name,
      msn: part.msn,
      index: part.index,
      durationSec: part.durationSec,
      completedAtMs: part.completedAtMs,
    };
    this.seen.set(part.name, seen);
    for (const wake of [...this.waiters]) wake(seen);
  }
}
