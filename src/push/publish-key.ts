import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 32 random bytes: a key nobody guesses, so a plain SHA-256 is enough to store it (no salt, no KDF). */
const KEY_BYTES = 32;
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A new publish key, in a form that fits a URL query unescaped. Shown once; only its hash is kept. */
export function generatePublishKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

export function hashPublishKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether `key` is the one whose hash is stored, compared in constant time. */
export function publishKeyMatches(key: unknown, storedHash: string | undefined): boolean {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key) || !storedHash) return false;
  const given = Buffer.from(hashPublishKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
