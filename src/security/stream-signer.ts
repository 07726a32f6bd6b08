import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import type { SecretBox } from './secret-box.js';

export interface StreamGrant {
  cameraId: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /** The token id the URL is bound to, when bound: then it works only with that viewer's credential. */
  viewer?: string | undefined;
}

export interface SignedQuery {
  exp: string;
  kid: string;
  sig: string;
  v?: string;
}

export type Verdict = { ok: true; grant: StreamGrant } | { ok: false; reason: string };

/** Verified URLs remembered at most; past it, expired ones go first, then the oldest. */
const MAX_VERIFIED = 10_000;

/**
 * Signs and checks stream URLs: HMAC-SHA256 over camera, expiry and optionally the viewer. Keys rotate
 * by period: the key id is the period number, so every relay agrees on the current key without talking to
 * the others; the first to need a period's key makes it (HSETNX) and all read the winner's. The current
 * and the previous period's keys verify, so a URL signed just before a rotation lives out its TTL.
 */
export class StreamSigner {
  private readonly cache = new Map<string, Buffer>();
  /**
   * Signatures already verified, by everything they sign: a wall asks for the same URL's files many times
   * a second, and an HMAC each time cost 2 to 4 % of a relay's CPU under load (bench/relay.ts). The expiry
   * and key checks still run on every request, so a remembered signature never outlives its URL or its key;
   * a different signature for the same grant is checked in full (and fails).
   */
  private readonly verified = new Map<string, { sig: Buffer; grant: StreamGrant }>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly box: SecretBox,
    private readonly rotationSec: number,
  ) {}

  async sign(grant: StreamGrant): Promise<SignedQuery> {
    const kid = this.periodKid(Date.now());
    const key = await this.key(kid, true);
    const query: SignedQuery = { exp: String(grant.exp), kid, sig: mac(key as Buffer, grant) };
    if (grant.viewer) query.v = grant.viewer;
    return query;
  }

  async verify(cameraId: string, query: Partial<Record<keyof SignedQuery, string>>): Promise<Verdict> {
    const { exp, kid, sig } = query;
    if (!exp || !kid || !sig) return { ok: false, reason: 'unsigned' };
    const expSec = Number(exp);
    if (!Number.isInteger(expSec) || expSec * 1000 < Date.now()) return { ok: false, reason: 'expired' };
    const now = this.periodKid(Date.now());
    if (kid !== now && kid !== String(Number(now) - 1)) return { ok: false, reason: 'unknown key' };
    const given = Buffer.from(sig);
    const signed = JSON.stringify([cameraId, expSec, kid, query.v ?? null]);
    const known = this.verified.get(signed);
    if (known && sameSignature(known.sig, given)) return { ok: true, grant: known.grant };
    const key = await this.key(kid, false);
    if (!key) return { ok: false, reason: 'unknown key' };
    const grant: StreamGrant = Object.freeze({ cameraId, exp: expSec, viewer: query.v });
    if (!sameSignature(Buffer.from(mac(key, grant)), given)) return { ok: false, reason: 'bad signature' };
    this.rememberVerified(signed, { sig: given, grant });
    return { ok: true, grant };
  }

  /** Drops keys older than the previous period. */
  async prune(): Promise<void> {
    const current = Number(this.periodKid(Date.now()));
    const kids = await this.redis.hkeys(this.keys.streamKeys);
    const old = kids.filter((kid) => Number(kid) < current - 1);
    if (old.length > 0) await this.redis.hdel(this.keys.streamKeys, ...old);
    for (const kid of old) this.cache.delete(kid);
  }

  private rememberVerified(signed: string, entry: { sig: Buffer; grant: StreamGrant }): void {
    this.verified.set(signed, entry);
    if (this.verified.size <= MAX_VERIFIED) return;
    const nowSec = Date.now() / 1000;
    for (const [old, { grant }] of this.verified) if (grant.exp < nowSec) this.verified.delete(old);
    const oldest = this.verified.keys().next().value;
    if (this.verified.size > MAX_VERIFIED && oldest !== undefined) this.verified.delete(oldest);
  }

  private periodKid(nowMs: number): string {
    return String(Math.floor(nowMs / 1000 / this.rotationSec));
  }

  private async key(kid: string, create: boolean): Promise<Buffer | null> {
    const cached = this.cache.get(kid);
    if (cached) return cached;
    if (create)
      await this.redis.hsetnx(this.keys.streamKeys, kid, this.box.seal(randomBytes(32).toString('hex')));
    const sealed = await this.redis.hget(this.keys.streamKeys, kid);
    if (!sealed) return null;
    const key = Buffer.from(this.box.open(sealed), 'hex');
    this.cache.set(kid, key);
    return key;
  }
}

/** In constant time: how much of a guess is right must not show in how long the answer takes. */
function sameSignature(expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function mac(key: Buffer, grant: StreamGrant): string {
  return createHmac('sha256', key)
    .update(`${grant.cameraId}\n${grant.exp}\n${grant.viewer ?? ''}`)
    .digest('base64url');
}
