import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const VERSION = 'v1';

export class SealError extends Error {
  readonly code = 'CAMRELAY_ERR_SEALED_VALUE';
}

/**
 * Seals secrets (camera URLs) with AES-256-GCM for storage in Redis. A sealed value names the key that
 * sealed it (a fingerprint, never the key), so a process started with another CAMRELAY_SECRET_KEY says so
 * instead of failing obscurely.
 */
export class SecretBox {
  readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret key must be 32 bytes');
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 8);
  }

  /** "v1.<keyId>.<iv>.<tag>.<ciphertext>", base64url parts. */
  seal(plaintext: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.keyId, iv, cipher.getAuthTag(), body]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(sealed: string): string {
    const [version, keyId, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new SealError('not a sealed value');
    if (keyId !== this.keyId) {
      throw new SealError(
        `sealed with key ${keyId}, but this process has key ${this.keyId}: CAMRELAY_SECRET_KEY differs`,
      );
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      throw new SealError('sealed value failed authentication: tampered with, or a different key');
    }
  }
}

/**
 * The key from CAMRELAY_SECRET_KEY, or else DATA_DIR/secret.key, created (mode 0600) on first start. The
 * file suits one machine; processes on several hosts must share the key through the environment.
 */
export async function loadSecretKey(
  configured: Buffer | undefined,
  dataDir: string,
  log: Logger,
): Promise<Buffer> {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret.key');
  try {
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
    if (key.length === 32) return key;
    throw new Error(`${file} does not hold 64 hex digits`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(32);
  await mkdir(dataDir, { recursive: true });
  try {
    await writeFile(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadSecretKey(undefined, dataDir, log);
    throw err;
  }
  await chmod(file, 0o600);
  log.warn({ file }, 'made a new secret key for camera credentials; back it up, or set CAMRELAY_SECRET_KEY');
  return key;
}
