/**
 * The part of m3u8-parser 7 (videojs; it ships no types) that the LL-HLS tests read. Field names are the
 * parser's: attributes camel-cased, durations in seconds.
 */
declare module 'm3u8-parser' {
  export interface ParsedPart {
    uri: string;
    duration: number;
    independent?: boolean;
  }

  export interface ParsedPreloadHint {
    type: string;
    uri: string;
  }

  export interface ParsedSegment {
    uri: string;
    duration: number;
    dateTimeString?: string;
    programDateTime?: number;
    parts?: ParsedPart[];
    map?: { uri: string };
  }

  /** What follows the last complete segment: the open segment's parts and the preload hints. */
  export interface ParsedPreloadSegment {
    parts?: ParsedPart[];
    preloadHints?: ParsedPreloadHint[];
    dateTimeString?: string;
  }

  export interface ParsedManifest {
    version?: number;
    targetDuration?: number;
    mediaSequence?: number;
    segments: ParsedSegment[];
    preloadSegment?: ParsedPreloadSegment;
    serverControl?: {
      canBlockReload?: boolean;
      partHoldBack?: number;
      holdBack?: number;
      canSkipUntil?: number;
    };
    partInf?: { partTarget: number };
    partTargetDuration?: number;
    skip?: { skippedSegments: number };
    independentSegments?: boolean;
  }

  export class Parser {
    manifest: ParsedManifest;
    push(chunk: string): void;
    end(): void;
    on(event: 'warn' | 'info', listener: (entry: { message: string }) => void): void;
  }
}
