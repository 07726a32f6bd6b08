import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys.js';
import type { Principal } from './roles.js';
import type { TokenStore } from './tokens.js';

export const SESSION_COOKIE = 'camrelay_session';

/**
 * Browser sessions for the wall: signing in with a token gives a random session id in an HttpOnly cookie.
 * Redis keeps only the id's hash, with a TTL; a session lasts only as long as the token behind it.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly tokens: TokenStore,
    private readonly ttlSec: number,
  ) {}

  async create(principal: Omit<Principal, 'via'>): Promise<string> {
    const sessionId = randomBytes(32).toString('base64url');
    const stored = { tokenId: principal.tokenId, name: principal.name, role: principal.role };
    await this.redis.set(this.key(sessionId), JSON.stringify(stored), 'EX', this.ttlSec);
    return sessionId;
  }

  async get(sessionId: string): Promise<Principal | null> {
    const json = await this.redis.get(this.key(sessionId));
    if (!json) return null;
    const stored = JSON.parse(json) as Omit<Principal, 'via'>;
    if (!(await this.tokens.isValid(stored.tokenId))) return null;
    return { ...stored, via: 'session' };
  }

  async delete(sessionId: string): Promise<void> {
    await this.redis.del(this.key(sessionId));
  }

  private key(sessionId: string): string {
    return `${this.keys.sessionPrefix}${createHash('sha256').update(sessionId).digest('hex')}`;
  }
}
