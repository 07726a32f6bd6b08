/** One block of ffmpeg's `-progress pipe:1` output, which ends with a `progress=` line. */
export interface ProgressBlock {
  frame: number | null;
  /** ffmpeg's own fps: the average since it started, not the current rate. */
  averageFps: number | null;
  outTimeUs: number | null;
  dropFrames: number | null;
  dupFrames: number | null;
  speed: number | null;
  ended: boolean;
}

/**
 * Splits the progress text (pure: no I/O) into blocks. Chunks may cut lines anywhere, so the reader
 * keeps the partial tail until the next chunk.
 */
export class ProgressReader {
  private tail = '';
  private fields = new Map<string, string>();

  push(chunk: string): ProgressBlock[] {
    const lines = (this.tail + chunk).split(/\r?\n/);
    this.tail = lines.pop() ?? '';
    const blocks: ProgressBlock[] = [];
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      this.fields.set(key, value);
      if (key === 'progress') {
        blocks.push(toBlock(this.fields));
        this.fields = new Map();
      }
    }
    return blocks;
  }
}

function num(value: string | undefined): number | null {
  if (value === undefined || value === 'N/A' || value === '') return null;
  const parsed = Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : null;
}

function toBlock(fields: Map<string, string>): ProgressBlock {
  return {
    frame: num(fields.get('frame')),
    averageFps: num(fields.get('fps')),
    outTimeUs: num(fields.get('out_time_us')),
    dropFrames: num(fields.get('drop_frames')),
    dupFrames: num(fields.get('dup_frames')),
    speed: num(fields.get('speed')?.replace(/x$/, '')),
    ended: fields.get('progress') === 'end',
  };
}
