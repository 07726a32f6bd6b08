import { randomBytes } from 'node:crypto';

const SLUG_BODY_MAX = 50;

/** An id derived from the name, with a random suffix so two "Gate" cameras never collide: gate-4k2x9q. */
export function generateCameraId(name: string): string {
  const body = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, SLUG_BODY_MAX)
    .replace(/-+$/, '');
  const suffix = randomBytes(4).readUInt32BE(0).toString(36).padStart(6, '0').slice(-6);
  return `${body || 'cam'}-${suffix}`;
}
