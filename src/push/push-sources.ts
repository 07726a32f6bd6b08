import type { AdmitVerdict } from '../ingest/supervisor.js';
import type { PublishClaims } from './publish-claims.js';
import { pullUrl } from './publish-url.js';
import type { PullTokens } from './pull-token.js';

/**
 * Where a worker reads a push camera: from whichever push server holds its publisher now, as the camera's
 * claim in Redis says. No publisher: the camera is offline until one is admitted (workers hear of it on
 * the pushPublished channel and retry at once).
 */
export class PushSources {
  constructor(
    private readonly claims: PublishClaims,
    private readonly tokens: PullTokens,
  ) {}

  async resolve(cameraId: string): Promise<AdmitVerdict> {
    try {
      const claim = await this.claims.get(cameraId);
      if (!claim)
        return { ok: false, status: 'offline', reason: 'no publisher: nothing is publishing to this camera' };
      return { ok: true, url: pullUrl(claim.origin, cameraId, this.tokens.sign(cameraId)), watchPort: false };
    } catch (err) {
      return {
        ok: false,
        status: 'offline',
        reason: `cannot look up its publisher: ${(err as Error).message}`,
      };
    }
  }
}

/** The ingest target of a push camera: a name, not a URL ffmpeg ever sees; resolve() gives the real one. */
export function pushTarget(cameraId: string): string {
  return `push:${cameraId}`;
}
