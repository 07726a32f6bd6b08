import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { signPlaylist } from '../../src/relay/signed-playlist.js';
import { CameraNetworks } from '../../src/security/camera-networks.js';
import { roleAllows } from '../../src/security/roles.js';
import { SecretBox } from '../../src/security/secret-box.js';

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));
  const url = 'rtsp://admin:Sup3r-Secret@10.0.0.5/live';

  it('seals so that nothing of the plaintext shows, and opens again', () => {
    const sealed = box.seal(url);
    expect(sealed).not.toContain('Sup3r');
    expect(sealed).not.toContain('10.0.0.5');
    expect(box.seal(url)).not.toBe(sealed);
    expect(box.open(sealed)).toBe(url);
  });

  it('refuses a tampered value and names a different key', () => {
    const sealed = box.seal(url);
    const parts = sealed.split('.');
    const tag = parts[4] as string;
    // Another first character, whatever it was: replacing an A with an A would tamper with nothing.
    parts[4] = `${tag.startsWith('A') ? 'B' : 'A'}${tag.slice(1)}`;
    expect(() => box.open(parts.join('.'))).toThrow(/failed authentication/);
    const other = new SecretBox(randomBytes(32));
    expect(() => other.open(sealed)).toThrow(/CAMRELAY_SECRET_KEY differs/);
  });
});

describe('CameraNetworks', () => {
  const config = (networks: string) => loadConfig({ CAMERA_NETWORKS: networks }).security.cameraNetworks;
  const fakeDns = (answers: Record<string, string[]>) => async (host: string) => {
    const found = answers[host];
    if (!found) throw Object.assign(new Error('no such host'), { code: 'ENOTFOUND' });
    return found;
  };

  it('admits addresses inside the networks and pins the URL to the address it checked', async () => {
    const networks = new CameraNetworks(
      config('10.20.0.0/16,fd00::/8'),
      fakeDns({ 'cam.site': ['10.20.3.4'] }),
    );
    expect(await networks.check('rtsp://u:p@cam.site:554/live')).toEqual({
      ok: true,
      url: 'rtsp://u:p@10.20.3.4:554/live',
    });
    expect(await networks.check('rtsp://[fd00::5]/live')).toMatchObject({ ok: true });
  });

  it('refuses anything outside, whatever the name: metadata, Redis, loopback, rebinding answers', async () => {
    const dns = fakeDns({ 'evil.site': ['10.20.0.9', '169.254.169.254'], 'redis.local': ['127.0.0.1'] });
    const networks = new CameraNetworks(config('10.20.0.0/16'), dns);
    for (const url of [
      'rtsp://169.254.169.254/latest/meta-data',
      'rtsp://redis.local:6379/',
      'rtsp://evil.site/live',
      'rtsp://[::1]/live',
      'rtsp://nowhere.site/live',
    ]) {
      expect((await networks.check(url)).ok, url).toBe(false);
    }
  });

  it('admits anything with "any"', async () => {
    expect(await new CameraNetworks('any').check('rtsp://example.org/x')).toEqual({
      ok: true,
      url: 'rtsp://example.org/x',
    });
  });
});

describe('signPlaylist', () => {
  it('signs every URI, in lines and in URI attributes, and leaves tags alone', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-MAP:URI="init.mp4"',
      '#EXTINF:1.0,',
      'r1-5.ts',
      '#EXTINF:1.0,',
      'r1-6.ts',
      '',
    ].join('\n');
    expect(signPlaylist(text, 'exp=1&kid=2&sig=x')).toBe(
      [
        '#EXTM3U',
        '#EXT-X-MAP:URI="init.mp4?exp=1&kid=2&sig=x"',
        '#EXTINF:1.0,',
        'r1-5.ts?exp=1&kid=2&sig=x',
        '#EXTINF:1.0,',
        'r1-6.ts?exp=1&kid=2&sig=x',
        '',
      ].join('\n'),
    );
  });
});

describe('roles', () => {
  it('orders viewer < operator < admin', () => {
    expect(roleAllows('admin', 'viewer')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'admin')).toBe(false);
  });
});
