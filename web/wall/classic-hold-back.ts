import Hls from 'hls.js';

/** How far behind the live edge a classic playlist is played, in segments: what the wall did before LL-HLS. */
export const CLASSIC_SEGMENTS_BEHIND = 2;

/**
 * The wall's settings leave the target latency to the playlist (PART-HOLD-BACK, for LL-HLS). A classic
 * playlist (HLS_MODE=classic) has none, and hls.js then holds three segments back; the wall holds two, as
 * it did before, once it has seen the playlist has no parts.
 */
export function holdClassicPlaylistsBack(hls: Hls): void {
  hls.once(Hls.Events.LEVEL_LOADED, (_event, data) => {
    const { partTarget, targetduration } = data.details;
    if (partTarget > 0) return;
    hls.targetLatency = CLASSIC_SEGMENTS_BEHIND * targetduration;
  });
}
