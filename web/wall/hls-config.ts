import type Hls from 'hls.js';

/**
 * Settings for a wall that runs for days: play as far behind the live edge as the relay's playlist says
 * (LL-HLS: PART-HOLD-BACK, three 200 ms parts), catch up by playing up to 1.5 times faster when behind,
 * keep a short back buffer so memory stays flat, and let the worker thread demux. In a module of its own so
 * the benchmarks (bench/latency.ts, bench/ingest-startup.ts) measure exactly what the wall plays with.
 *
 * No liveSyncDuration(Count): hls.js 1.7 takes either as the target latency *instead of* PART-HOLD-BACK
 * (latency-controller.ts, targetLatency), so `liveSyncDurationCount: 2` held LL-HLS two segments behind:
 * bench/latency.ts measured 2.1 s glass-to-glass with it against 0.87 s without. hls.js refuses
 * liveMaxLatencyDurationCount without liveSyncDurationCount, so that went too. Against a classic playlist
 * (HLS_MODE=classic, no parts) hls.js falls back to its default of three segments behind.
 *
 * lowLatencyMode: hls.js 1.7 changes the playback rate only in that mode, so without it
 * maxLiveSyncPlaybackRate does nothing and a player that fell behind stays behind.
 */
export const HLS_CONFIG: Partial<Hls['config']> = {
  maxLiveSyncPlaybackRate: 1.5,
  backBufferLength: 10,
  maxBufferLength: 8,
  enableWorker: true,
  lowLatencyMode: true,
};
