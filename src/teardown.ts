import type { Logger } from './log.js';

/**
 * Shutdown steps, run last-in first-out (what started last stops first), each once. A failing step is
 * logged and the others still run: a half-stopped process is worse than a noisy one.
 */
export class Teardown {
  private readonly steps: Array<() => Promise<unknown>> = [];
  private running: Promise<void> | null = null;

  constructor(private readonly log: Logger) {}

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (let step = this.steps.pop(); step; step = this.steps.pop()) {
        await step().catch((err: unknown) => this.log.warn({ err }, 'shutdown step failed'));
      }
    })();
    return this.running;
  }
}
