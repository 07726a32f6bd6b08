/** The parts of a media playlist the ingest watches. Pure: parses text, reads no files. */
export interface MediaPlaylist {
  mediaSequence: number;
  targetDurationSec: number | null;
  segments: PlaylistSegment[];
  ended: boolean;
  /** EXT-X-MAP's URI: the init segment fMP4 segments need. */
  mapUri: string | null;
}

export interface PlaylistSegment {
  uri: string;
  durationSec: number;
  /** From EXT-X-PROGRAM-DATE-TIME, in epoch ms. */
  programDateTimeMs: number | null;
}

export function parseMediaPlaylist(text: string): MediaPlaylist | null {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== '#EXTM3U') return null;
  const playlist: MediaPlaylist = {
    mediaSequence: 0,
    targetDurationSec: null,
    segments: [],
    ended: false,
    mapUri: null,
  };
  let duration: number | null = null;
  let programDateTimeMs: number | null = null;
  for (const line of lines.slice(1)) {
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) playlist.mediaSequence = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-TARGETDURATION:')) playlist.targetDurationSec = Number(line.slice(22));
    else if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const parsed = Date.parse(line.slice(25).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
      programDateTimeMs = Number.isNaN(parsed) ? null : parsed;
    } else if (line === '#EXT-X-ENDLIST') playlist.ended = true;
    else if (line.startsWith('#EXT-X-MAP:')) playlist.mapUri = /URI="([^"]*)"/.exec(line)?.[1] ?? null;
    else if (line && !line.startsWith('#') && duration !== null) {
      playlist.segments.push({ uri: line, durationSec: duration, programDateTimeMs });
      duration = null;
      programDateTimeMs = null;
    }
  }
  return playlist;
}
