import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** A throwaway self-signed certificate for an IP address, made with openssl. */
export async function selfSigned(dir: string, ip = '127.0.0.1'): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${ip}`,
    '-addext',
    `subjectAltName=IP:${ip}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { cert, key };
}
