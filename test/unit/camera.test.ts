import { describe, expect, it } from 'vitest';
import {
  CAMERA_ID_PATTERN,
  cameraCreateSchema,
  cameraPatchSchema,
  toCameraView,
} from '../../src/cameras/camera.js';
import { generateCameraId } from '../../src/cameras/camera-id.js';

describe('camera schemas', () => {
  it('fills the documented defaults', () => {
    const camera = cameraCreateSchema.parse({ name: 'Gate', url: 'rtsp://10.0.0.5/live' });
    expect(camera).toEqual({
      name: 'Gate',
      source: 'pull',
      url: 'rtsp://10.0.0.5/live',
      mode: 'always',
      transcode: 'auto',
      rtspTransport: 'tcp',
      enabled: true,
      tags: [],
    });
  });

  it.each([
    ['id', { id: 'Bad Id', name: 'x', url: 'rtsp://h/x' }],
    ['id', { id: '-leading-dash', name: 'x', url: 'rtsp://h/x' }],
    ['url', { name: 'x', url: 'file:///etc/passwd' }],
    ['url', { name: 'x', url: 'not a url' }],
    ['name', { name: '', url: 'rtsp://h/x' }],
    ['mode', { name: 'x', url: 'rtsp://h/x', mode: 'sometimes' }],
  ])('rejects a bad %s', (field, body) => {
    const result = cameraCreateSchema.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(field);
  });

  it('rejects unknown fields, so a typo is not silently ignored', () => {
    const result = cameraCreateSchema.safeParse({ name: 'x', url: 'rtsp://h/x', transcoding: 'copy' });
    expect(result.success).toBe(false);
  });

  it('requires a patch to change something', () => {
    expect(cameraPatchSchema.safeParse({}).success).toBe(false);
    expect(cameraPatchSchema.safeParse({ enabled: false }).success).toBe(true);
  });

  it('shows the masked URL and nothing of the sealed one', () => {
    const view = toCameraView({
      id: 'gate',
      name: 'Gate',
      sealedUrl: 'v1.abcd1234.sealed-bytes',
      maskedUrl: 'rtsp://admin:***@10.0.0.5/live',
      mode: 'always',
      transcode: 'auto',
      rtspTransport: 'tcp',
      enabled: true,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 3,
    });
    expect(view.url).toBe('rtsp://admin:***@10.0.0.5/live');
    expect(JSON.stringify(view)).not.toContain('sealed');
  });
});

describe('generateCameraId', () => {
  it('makes a valid slug from any name', () => {
    for (const name of ['Gate 4 — North', 'ÄÖÜ Straße', '!!!', 'x'.repeat(300), 'Camera_01']) {
      expect(generateCameraId(name)).toMatch(CAMERA_ID_PATTERN);
    }
    expect(generateCameraId('Gate 4 North')).toMatch(/^gate-4-north-[a-z0-9]{6}$/);
  });

  it('gives two cameras of the same name different ids', () => {
    expect(generateCameraId('Gate')).not.toBe(generateCameraId('Gate'));
  });
});
