// The benchmark's page (bench/latency/measure-playback.ts drives it). It plays one HLS stream with hls.js
// and, for every frame the browser presents, reads the capture time the stamp camera wrote into the frame
// and takes it from the time the frame is shown. Plain JavaScript: the project's Node type check has no DOM.
import Hls from 'hls.js';
import { decodeStamp, STAMP_HEIGHT_PX, STAMP_WIDTH_PX } from './stamp.ts';

const video = document.querySelector('video');
const canvas = document.createElement('canvas');
canvas.width = STAMP_WIDTH_PX;
canvas.height = STAMP_HEIGHT_PX;
const context = canvas.getContext('2d', { willReadFrequently: true });

let latenciesMs = [];
let undecoded = 0;
const fatalErrors = [];
let hls = null;

/**
 * When the browser means to show the frame, in epoch ms: Date.now() is the clock the camera stamps with,
 * and expectedDisplayTime says how far from now the frame reaches the screen.
 */
function shownAtEpochMs(metadata) {
  return Date.now() + (metadata.expectedDisplayTime - performance.now());
}

function onFrame(_now, metadata) {
  const shownAtMs = shownAtEpochMs(metadata);
  // Inside this callback, drawImage draws the very frame the callback is for.
  context.drawImage(video, 0, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  const stampMs = decodeStamp({ data, width: canvas.width, height: canvas.height, channels: 4 });
  if (stampMs === null) undecoded++;
  else latenciesMs.push(shownAtMs - stampMs);
  video.requestVideoFrameCallback(onFrame);
}

window.latency = {
  /** Plays the playlist with these hls.js settings ({} for hls.js's defaults). */
  start(playlistUrl, hlsConfig) {
    hls = new Hls(hlsConfig);
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) fatalErrors.push(`${data.type}: ${data.details}`);
    });
    hls.loadSource(playlistUrl);
    hls.attachMedia(video);
    video.requestVideoFrameCallback(onFrame);
    video.play().catch(() => undefined);
  },
  /** What was measured since the last call, and how the player stands now. */
  take() {
    const batch = {
      latenciesMs,
      undecoded,
      fatalErrors: [...fatalErrors],
      playing: video.currentTime > 0 && !video.paused,
      hlsLatencySec: hls && Number.isFinite(hls.latency) ? hls.latency : null,
    };
    latenciesMs = [];
    undecoded = 0;
    return batch;
  },
};
