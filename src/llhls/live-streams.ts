import { LiveStream, type LiveStreamSettings } from './live-stream.js';

/** The LL-HLS streams this process ingests, by camera: what its HTTP servers answer from memory. */
export class LiveStreams {
  private readonly streams = new Map<string, LiveStream>();

  constructor(readonly settings: LiveStreamSettings) {}

  get(cameraId: string): LiveStream | null {
    return this.streams.get(cameraId) ?? null;
  }

  /** The camera's stream, made on first use; a session holds it from its start to its end. */
  open(cameraId: string): LiveStream {
    let stream = this.streams.get(cameraId);
    if (!stream || stream.isClosed) {
      stream = new LiveStream(cameraId, this.settings);
      this.streams.set(cameraId, stream);
    }
    return stream;
  }

  /** Closes the camera's stream if it is still the one given (a newer session may have opened another). */
  close(stream: LiveStream): void {
    stream.close();
    if (this.streams.get(stream.cameraId) === stream) this.streams.delete(stream.cameraId);
  }

  get size(): number {
    return this.streams.size;
  }
}
