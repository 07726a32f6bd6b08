import { createHmac, timingSafeEqual } from 'node:crypto';

/** How long a pull token opens new plays: a leaked one (ffmpeg's argv is readable with ps) soon expires. */
export const PULL_TOKEN_TTL_MS = 3_600_000;

/**
 * Tokens that let a worker's ffmpeg play a pushed stream from the push server that holds it: an expiry and
 * an HMAC of camera and expiry under a key derived from CAMRELAY_SECRET_KEY, which every process shares. The
 * push server checks them without asking Redis; nobody else may play the raw RTMP.
 */
export class PullTokens {
  private readonly key: Buffer;

  constructor(secretKey: Buffer) {
    this.key = createHmac('sha256', secretKey).update('camrelay rtmp pull token v1').digest();
  }

  sign(cameraId: string, nowMs = Date.now()): string {
    const expiresAtSec = Math.ceil((nowMs + PULL_TOKEN_TTL_MS) / 1000);
    return `${expiresAtSec}.${this.mac(cameraId, expiresAtSec)}`;
  }

  verify(cameraId: string, token: unknown, nowMs = Date.now()): boolean {
    if (typeof token !== 'string') return false;
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expiresAtSec = Number(match[1]);
    if (expiresAtSec * 1000 < nowMs) return false;
    const given = Buffer.from(match[2] as string);
    const expected = Buffer.from(this.mac(cameraId, expiresAtSec));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(cameraId: string, expiresAtSec: number): string {
    return createHmac('sha256', this.key).update(`${cameraId}\n${expiresAtSec}`).digest('base64url');
  }
}
