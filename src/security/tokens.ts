import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RedisKeys } from '../redis/keys.js';
import { type Role, roleSchema } from './roles.js';

const TOKEN_PREFIX = 'crt_';
export const BOOTSTRAP_TOKEN_ID = 'bootstrap';

export const tokenRecordSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: roleSchema,
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    createdBy: z.string(),
  })
  .meta({ id: 'Token' });
export type TokenRecord = z.output<typeof tokenRecordSchema>;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * API tokens in Redis, stored by their SHA-256 only: the token itself is shown once, when created. (The
 * tokens are 256 random bits, so a plain hash cannot be reversed by guessing.) Revoking deletes the
 * record, which also ends every session signed in with it.
 */
export class TokenStore {
  private readonly bootstrapHash: Buffer | null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    bootstrapToken: string | undefined,
  ) {
    this.bootstrapHash = bootstrapToken ? Buffer.from(hashToken(bootstrapToken), 'hex') : null;
  }

  async create(input: { name: string; role: Role; ttlSec?: number | undefined }, createdBy: string) {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    const record: TokenRecord = {
      id: randomBytes(8).toString('hex'),
      name: input.name,
      role: input.role,
      createdAt: new Date(now).toISOString(),
      expiresAt: input.ttlSec ? new Date(now + input.ttlSec * 1000).toISOString() : null,
      createdBy,
    };
    await this.redis
      .multi()
      .hset(this.keys.tokens, hashToken(token), JSON.stringify(record))
      .hset(this.keys.tokenIds, record.id, hashToken(token))
      .exec();
    return { token, record };
  }

  /** The record for a presented token, or null if unknown, revoked or expired. */
  async verify(token: string): Promise<TokenRecord | null> {
    if (this.isBootstrap(token)) return bootstrapRecord();
    const json = await this.redis.hget(this.keys.tokens, hashToken(token));
    const record = json ? (JSON.parse(json) as TokenRecord) : null;
    return record && !isExpired(record) ? record : null;
  }

  /** Whether a token id still stands (sessions check this on every request). */
  async isValid(tokenId: string): Promise<boolean> {
    if (tokenId === BOOTSTRAP_TOKEN_ID) return this.bootstrapHash !== null;
    const hash = await this.redis.hget(this.keys.tokenIds, tokenId);
    if (!hash) return false;
    const json = await this.redis.hget(this.keys.tokens, hash);
    return json !== null && !isExpired(JSON.parse(json) as TokenRecord);
  }

  async list(): Promise<TokenRecord[]> {
    const all = await this.redis.hvals(this.keys.tokens);
    return all
      .map((json) => JSON.parse(json) as TokenRecord)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async revoke(tokenId: string): Promise<TokenRecord | null> {
    const hash = await this.redis.hget(this.keys.tokenIds, tokenId);
    if (!hash) return null;
    const json = await this.redis.hget(this.keys.tokens, hash);
    await this.redis.multi().hdel(this.keys.tokens, hash).hdel(this.keys.tokenIds, tokenId).exec();
    return json ? (JSON.parse(json) as TokenRecord) : null;
  }

  private isBootstrap(token: string): boolean {
    if (!this.bootstrapHash) return false;
    return timingSafeEqual(this.bootstrapHash, Buffer.from(hashToken(token), 'hex'));
  }
}

function isExpired(record: TokenRecord): boolean {
  return record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now();
}

function bootstrapRecord(): TokenRecord {
  return {
    id: BOOTSTRAP_TOKEN_ID,
    name: 'bootstrap admin (CAMRELAY_ADMIN_TOKEN)',
    role: 'admin',
    createdAt: new Date(0).toISOString(),
    expiresAt: null,
    createdBy: 'configuration',
  };
}
