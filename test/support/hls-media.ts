import type { MediaPlaylist } from '../../src/ingest/playlist.js';

/**
 * A segment as ffprobe can read it: an fMP4 segment needs its init segment (EXT-X-MAP) in front;
 * an MPEG-TS segment stands alone.
 */
export async function segmentWithInit(
  fetchFile: (uri: string) => Promise<Response>,
  playlist: MediaPlaylist,
  uri: string,
): Promise<{ bytes: Buffer; contentType: string | null; cacheControl: string | null }> {
  const response = await fetchFile(uri);
  if (response.status !== 200) throw new Error(`segment ${uri}: HTTP ${response.status}`);
  const segment = Buffer.from(await response.arrayBuffer());
  const headers = {
    contentType: response.headers.get('content-type'),
    cacheControl: response.headers.get('cache-control'),
  };
  if (!playlist.mapUri) return { bytes: segment, ...headers };
  const init = await fetchFile(playlist.mapUri);
  if (init.status !== 200) throw new Error(`init ${playlist.mapUri}: HTTP ${init.status}`);
  return { bytes: Buffer.concat([Buffer.from(await init.arrayBuffer()), segment]), ...headers };
}
