// The benchmark's page (bench/latency/measure-playback.ts drives it). It plays one HLS stream per tile with
// hls.js (one tile, or a wall of several) and, for every frame the browser presents in a tile, reads the
// capture time the stamp camera wrote into the frame and takes it from the time the frame is shown. Plain
// JavaScript: the project's Node type check has no DOM.
import Hls from 'hls.js';
import { holdClassicPlaylistsBack } from '../../web/wall/classic-hold-back.ts';
import { LiveEdgeWatch } from '../../web/wall/live-edge.ts';
import { decodeStamp, STAMP_HEIGHT_PX, STAMP_WIDTH_PX } from './stamp.ts';

/** As the wall's tile (web/wall/tile.ts) watches its player. */
const WATCH_EVERY_MS = 1000;

const wall = document.querySelector('#wall');
const fatalErrors = [];
let tiles = [];

/**
 * When the browser means to show the frame, in epoch ms: Date.now() is the clock the camera stamps with,
 * and expectedDisplayTime says how far from now the frame reaches the screen.
 */
function shownAtEpochMs(metadata) {
  return Date.now() + (metadata.expectedDisplayTime - performance.now());
}

/** One player: a video element, its hls.js, and what was measured on it since the last take(). */
function startTile(playlistUrl, hlsConfig, keepNearLiveEdge, widthPx, heightPx) {
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = widthPx;
  video.height = heightPx;
  wall.append(video);
  const canvas = document.createElement('canvas');
  canvas.width = STAMP_WIDTH_PX;
  canvas.height = STAMP_HEIGHT_PX;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const tile = {
    video,
    hls: new Hls(hlsConfig),
    latenciesMs: [],
    undecoded: 0,
    /** The video element ran out of data and waited (a stall the viewer sees). */
    waiting: 0,
    /** hls.js's own non-fatal bufferStalledError reports. */
    stalls: 0,
    /** Seeks back to the live edge by the wall's LiveEdgeWatch. */
    jumps: 0,
  };
  if (keepNearLiveEdge) {
    // As the wall's tile: two segments behind on a classic playlist.
    holdClassicPlaylistsBack(tile.hls);
    // The wall's tile does this every second: a player too far behind for too long jumps to the live edge.
    const watch = new LiveEdgeWatch();
    setInterval(() => {
      const { hls } = tile;
      if (!watch.shouldJump(hls.latency, hls.targetLatency, Date.now())) return;
      const edge = hls.liveSyncPosition;
      if (edge !== null && edge > video.currentTime) {
        video.currentTime = edge;
        tile.jumps++;
      }
    }, WATCH_EVERY_MS);
  }
  video.addEventListener('waiting', () => {
    if (video.currentTime > 0) tile.waiting++;
  });
  tile.hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) fatalErrors.push(`${data.type}: ${data.details}`);
    else if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) tile.stalls++;
  });
  const onFrame = (_now, metadata) => {
    const shownAtMs = shownAtEpochMs(metadata);
    // Inside this callback, drawImage draws the very frame the callback is for. The stamp is cut from the
    // frame's own pixels (source rectangle), whatever size the tile shows it at.
    context.drawImage(video, 0, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const stampMs = decodeStamp({ data, width: canvas.width, height: canvas.height, channels: 4 });
    if (stampMs === null) tile.undecoded++;
    else tile.latenciesMs.push(shownAtMs - stampMs);
    video.requestVideoFrameCallback(onFrame);
  };
  tile.hls.loadSource(playlistUrl);
  tile.hls.attachMedia(video);
  video.requestVideoFrameCallback(onFrame);
  video.play().catch(() => undefined);
  return tile;
}

function finite(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

window.latency = {
  /**
   * Plays each playlist in a tile of its own with these hls.js settings ({} for hls.js's defaults); one
   * URL is the single player of the latency cases, several make a wall. With `keepNearLiveEdge` each tile
   * also jumps back to the live edge as the wall's tiles do.
   */
  start(playlistUrls, hlsConfig, keepNearLiveEdge) {
    const columns = Math.ceil(Math.sqrt(playlistUrls.length));
    const widthPx = Math.min(640, Math.floor(960 / columns));
    const heightPx = Math.floor((widthPx * 9) / 16);
    wall.style.gridTemplateColumns = `repeat(${columns}, ${widthPx}px)`;
    tiles = playlistUrls.map((url) => startTile(url, hlsConfig, keepNearLiveEdge, widthPx, heightPx));
  },
  /** What each tile measured since the last call, and how its player stands now. */
  take() {
    const batch = {
      fatalErrors: [...fatalErrors],
      tiles: tiles.map((tile) => ({
        latenciesMs: tile.latenciesMs,
        undecoded: tile.undecoded,
        waiting: tile.waiting,
        stalls: tile.stalls,
        jumps: tile.jumps,
        playing: tile.video.currentTime > 0 && !tile.video.paused,
        hlsLatencySec: finite(tile.hls.latency),
        targetLatencySec: finite(tile.hls.targetLatency),
        playbackRate: tile.video.playbackRate,
        bufferAheadSec: finite(
          tile.video.buffered.length > 0
            ? tile.video.buffered.end(tile.video.buffered.length - 1) - tile.video.currentTime
            : null,
        ),
      })),
    };
    for (const tile of tiles) {
      tile.latenciesMs = [];
      tile.undecoded = 0;
      tile.waiting = 0;
      tile.stalls = 0;
      tile.jumps = 0;
    }
    return batch;
  },
};
