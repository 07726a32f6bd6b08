import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { RedisKeys } from '../redis/keys.js';
import { streamFields } from '../redis/stream-fields.js';
import type { Principal } from './roles.js';

const MAX_LENGTH = 100_000;

export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    who: z.string().describe('Token name and id.'),
    role: z.string(),
    action: z
      .string()
      .describe('camera.create, camera.update, camera.delete, token.create, token.revoke, stream.start'),
    target: z.string(),
    from: z.string().describe('Client address.'),
    detail: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.output<typeof auditEntrySchema>;

/** Who did what, when and from where, in a bounded Redis Stream. Never holds a secret: details are masked. */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async record(
    principal: Principal,
    action: string,
    target: string,
    from: string,
    detail?: string,
  ): Promise<void> {
    await this.redis.xadd(
      this.keys.audit,
      'MAXLEN',
      '~',
      MAX_LENGTH,
      '*',
      'who',
      `${principal.name} (${principal.tokenId})`,
      'role',
      principal.role,
      'action',
      action,
      'target',
      target,
      'from',
      from,
      'detail',
      detail ?? '',
    );
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  async list(limit: number, before?: string): Promise<AuditEntry[]> {
    const entries = (await this.redis.xrevrange(
      this.keys.audit,
      before ? `(${before}` : '+',
      '-',
      'COUNT',
      limit,
    )) as Array<[string, string[]]>;
    return entries.map(([id, flat]) => {
      const fields = streamFields(flat);
      return {
        id,
        at: new Date(Number(id.split('-')[0])).toISOString(),
        who: fields.get('who') ?? '',
        role: fields.get('role') ?? '',
        action: fields.get('action') ?? '',
        target: fields.get('target') ?? '',
        from: fields.get('from') ?? '',
        detail: fields.get('detail') || null,
      };
    });
  }
}
