import { invalidField } from '../errors.js';
import { generatePublishKey, hashPublishKey } from '../push/publish-key.js';
import type { CameraNetworks, NetworkVerdict } from '../security/camera-networks.js';
import type { SecretBox } from '../security/secret-box.js';
import type { Camera, CameraCreate, CameraDraft } from './camera.js';
import { maskUrl } from './url.js';

/**
 * The deployment's policy on camera URLs, in one place: which schemes are allowed here, which networks a
 * camera may be in, and the sealing of credentials at rest. The registry only ever sees sealed URLs.
 */
export class CameraSources {
  constructor(
    private readonly box: SecretBox,
    private readonly networks: CameraNetworks,
    private readonly schemes: readonly string[],
  ) {}

  /** Checks a URL from a client and seals it. Throws a 400 naming `field`. */
  async admit(url: string, field = 'body.url'): Promise<Pick<Camera, 'sealedUrl' | 'maskedUrl'>> {
    const scheme = new URL(url).protocol.slice(0, -1);
    if (!this.schemes.includes(scheme)) {
      throw invalidField(
        field,
        `scheme ${scheme} is not allowed here (CAMERA_URL_SCHEMES: ${this.schemes.join(', ')})`,
      );
    }
    const verdict = await this.networks.check(url);
    if (!verdict.ok) throw invalidField(field, verdict.reason);
    return { sealedUrl: this.box.seal(url), maskedUrl: maskUrl(url) };
  }

  /**
   * A camera from a client's input, ready for the registry: a pull camera's URL checked and sealed, or a push
   * camera's new publish key, which the caller shows once (only its hash is kept).
   */
  async draft(
    input: CameraCreate,
    field = 'body.url',
  ): Promise<{ draft: CameraDraft; publishKey: string | null }> {
    const { url, ...rest } = input;
    if (input.source === 'push') {
      const { key, hash } = newPublishKey();
      return { draft: { ...rest, publishKeyHash: hash }, publishKey: key };
    }
    if (url === undefined) throw invalidField(field, 'is required for a pull camera');
    return { draft: { ...rest, ...(await this.admit(url, field)) }, publishKey: null };
  }

  /** The camera's URL in clear, for ffmpeg only. */
  open(camera: Camera): string {
    if (!camera.sealedUrl) throw new Error(`camera ${camera.id} has no source URL: it is a push camera`);
    return this.box.open(camera.sealedUrl);
  }

  /** Checks the URL again as ffmpeg starts, and pins it to the address checked. */
  pin(url: string): Promise<NetworkVerdict> {
    return this.networks.check(url);
  }
}

export function newPublishKey(): { key: string; hash: string } {
  const key = generatePublishKey();
  return { key, hash: hashPublishKey(key) };
}
