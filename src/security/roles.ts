import { z } from 'zod';

/**
 * Who may do what. Each role includes the ones below it:
 *   viewer: watch (cameras, stream URLs)
 *   operator: watch, health, events, metrics, layouts
 *   admin: everything, including cameras, tokens and the audit log
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** What a route asks of its caller: a role, a signed stream URL (checked by the route), or nothing. */
export type Access = Role | 'signed' | 'public';

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** The authenticated caller. `tokenId` names the API token behind it, also when it came in by session. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  via: 'bearer' | 'session';
}
