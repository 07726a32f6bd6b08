import { EventEmitter } from 'node:events';
import type { IngestStatus } from '../src/ingest/status.js';
import type {
  IngestSnapshot,
  IngestTarget,
  Supervisor,
  SupervisorEvents,
  SupervisorFactory,
} from '../src/ingest/supervisor.js';

/**
 * Ingest without ffmpeg, for the city-scale benchmark: a camera "starts" after a moment, as ffmpeg would,
 * then reports a steady 25 fps and a fresh segment every second. Everything around it (leases, health,
 * events, metrics, start commands) is the real thing.
 */
class SimulatedSupervisor extends EventEmitter<SupervisorEvents> implements Supervisor {
  private status: IngestStatus = 'stopped';
  private sinceMs = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private starts = 0;

  start(): void {
    this.move('starting');
    this.timer = setTimeout(() => this.move('online'), 500 + Math.random() * 1500);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.move('stopped');
  }

  reconfigure(_target: IngestTarget): void {}

  retryNow(): void {}

  snapshot(): IngestSnapshot {
    const online = this.status === 'online';
    return {
      status: this.status,
      sinceMs: this.sinceMs,
      fps: online ? 25 : null,
      bitrateKbps: online ? 190 : null,
      lastSegmentAtMs: online ? Date.now() - 500 : null,
      input: null,
      plan: { video: 'copy', audio: 'none', audioSampleRateHz: null },
      lastError: null,
    };
  }

  private move(to: IngestStatus): void {
    const from = this.status;
    if (from === to) return;
    this.status = to;
    this.sinceMs = Date.now();
    const restart = to === 'starting' && this.starts++ > 0;
    this.emit('status', { from, to, reason: null, atMs: this.sinceMs, restart });
  }
}

export const createSimulatedSupervisor: SupervisorFactory = () => new SimulatedSupervisor();
