import Hls, { type ErrorData } from 'hls.js';
import { api } from './api.js';
import { holdClassicPlaylistsBack } from './classic-hold-back.js';
import { HLS_CONFIG } from './hls-config.js';
import { LiveEdgeWatch } from './live-edge.js';

/** Statuses an operator must see over the picture: the video element may still show a last frame. */
const ALARMS = new Set(['offline', 'stalled', 'auth_failed', 'unsupported', 'disabled']);
/** Picture not moving this long while the camera reads online: the player is stuck, so it starts over. */
const FROZEN_AFTER_MS = 8000;
const WATCH_EVERY_MS = 1000;
const RETRY_AFTER_MS = 3000;

/** One camera on the wall: its player, its status overlay and its label. */
export class Tile {
  readonly element = document.createElement('div');
  private readonly video = document.createElement('video');
  private readonly statusText = document.createElement('span');
  private readonly latencyText = document.createElement('span');
  private readonly liveEdge = new LiveEdgeWatch();
  private readonly overlay = document.createElement('div');
  private hls: Hls | null = null;
  private status = 'starting';
  private reason: string | null = null;
  private sinceMs = Date.now();
  private lastTime = -1;
  private lastMoveMs = Date.now();
  private readonly timer: number;

  constructor(
    readonly cameraId: string,
    name: string,
  ) {
    this.element.className = 'tile';
    this.element.tabIndex = 0;
    this.element.dataset.camera = cameraId;
    this.element.setAttribute('aria-label', name);
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.autoplay = true;
    const label = document.createElement('div');
    label.className = 'label';
    const title = document.createElement('span');
    title.textContent = name;
    this.statusText.className = 'status';
    this.latencyText.className = 'latency';
    label.append(title, this.statusText, this.latencyText);
    this.overlay.className = 'overlay';
    this.overlay.setAttribute('role', 'alert');
    this.element.append(this.video, this.overlay, label);
    this.timer = window.setInterval(() => this.watch(), WATCH_EVERY_MS);
    this.render();
    void this.play();
  }

  setStatus(status: string, reason: string | null, since: string): void {
    const wasAlarm = ALARMS.has(this.status);
    this.status = status;
    this.reason = reason;
    this.sinceMs = Date.parse(since) || Date.now();
    this.render();
    // Back from a fault: start over rather than wait for the player's own retries.
    if (wasAlarm && status === 'online') void this.play();
  }

  destroy(): void {
    window.clearInterval(this.timer);
    this.hls?.destroy();
    this.element.remove();
  }

  private async play(): Promise<void> {
    this.hls?.destroy();
    this.hls = null;
    this.lastMoveMs = Date.now();
    try {
      const url = await api.streamUrl(this.cameraId);
      if (Hls.isSupported()) {
        const hls = new Hls(HLS_CONFIG);
        holdClassicPlaylistsBack(hls);
        hls.on(Hls.Events.ERROR, (_event, data) => this.onError(hls, data));
        hls.loadSource(url);
        hls.attachMedia(this.video);
        this.hls = hls;
      } else {
        this.video.src = url; // Safari plays HLS itself
      }
      await this.video.play().catch(() => undefined);
    } catch {
      window.setTimeout(() => void this.play(), RETRY_AFTER_MS);
    }
  }

  private onError(hls: Hls, data: ErrorData): void {
    if (!data.fatal || hls !== this.hls) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else window.setTimeout(() => hls === this.hls && void this.play(), RETRY_AFTER_MS);
  }

  /** Every second: the time since the status changed, the latency, and whether the picture still moves. */
  private watch(): void {
    const time = this.video.currentTime;
    if (time !== this.lastTime) {
      this.lastTime = time;
      this.lastMoveMs = Date.now();
    } else if (this.status === 'online' && Date.now() - this.lastMoveMs > FROZEN_AFTER_MS) {
      void this.play();
    }
    this.keepNearLiveEdge();
    this.render();
  }

  private keepNearLiveEdge(): void {
    const hls = this.hls;
    if (!hls || !this.liveEdge.shouldJump(hls.latency, hls.targetLatency, Date.now())) return;
    const edge = hls.liveSyncPosition;
    if (edge !== null && edge > this.video.currentTime) this.video.currentTime = edge;
  }

  private render(): void {
    const alarm = ALARMS.has(this.status);
    this.element.dataset.status = this.status;
    this.element.classList.toggle('alarm', alarm);
    this.statusText.textContent = this.status;
    const latency = this.hls?.latency;
    this.latencyText.textContent = latency && Number.isFinite(latency) ? `${latency.toFixed(1)} s` : '';
    if (alarm) {
      const strong = document.createElement('strong');
      strong.textContent = this.status.replace('_', ' ');
      const why = document.createElement('span');
      why.textContent = this.reason ?? '';
      const since = document.createElement('span');
      since.textContent = `for ${formatDuration(Date.now() - this.sinceMs)}`;
      this.overlay.replaceChildren(strong, why, since);
    }
  }
}

function formatDuration(ms: number): string {
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  return min < 60 ? `${min} min ${sec % 60} s` : `${Math.floor(min / 60)} h ${min % 60} min`;
}
