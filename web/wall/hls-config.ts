import type Hls from 'hls.js';

/**
 * Settings for a wall that runs for days: stay two segments behind the live edge and catch up by playing up
 * to 1.5 times faster when behind, keep a short back buffer so memory stays flat, and let the worker thread
 * demux. In a module of its own so the benchmarks (bench/latency.ts, bench/ingest-startup.ts) measure
 * exactly what the wall plays with.
 *
 * lowLatencyMode is on although camrelay's playlists have no parts yet: hls.js 1.7 changes the playback
 * rate only in that mode (latency-controller.ts), so without it maxLiveSyncPlaybackRate does nothing and a
 * player that fell behind stays behind (bench/latency.ts found one tile 4.9 s behind for a whole session).
 */
export const HLS_CONFIG: Partial<Hls['config']> = {
  liveSyncDurationCount: 2,
  liveMaxLatencyDurationCount: 6,
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 10,
  maxBufferLength: 8,
  enableWorker: true,
  lowLatencyMode: true,
};
