import { invalidField } from '../errors.js';
import type { CameraNetworks, NetworkVerdict } from '../security/camera-networks.js';
import type { SecretBox } from '../security/secret-box.js';
import type { Camera } from './camera.js';
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

  /** The camera's URL in clear, for ffmpeg only. */
  open(camera: Camera): string {
    return this.box.open(camera.sealedUrl);
  }

  /** Checks the URL again as ffmpeg starts, and pins it to the address checked. */
  pin(url: string): Promise<NetworkVerdict> {
    return this.networks.check(url);
  }
}
