import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Cidr } from '../config/schema.js';

export type NetworkVerdict = { ok: true; url: string } | { ok: false; reason: string };

/**
 * Keeps cameras inside the networks an operator allows (CAMERA_NETWORKS). A camera record must not turn
 * camrelay into a bridge from the camera network to anything else it can reach (Redis, cloud metadata,
 * admin pages), so the check runs on the resolved addresses, when a camera is registered and again each
 * time ffmpeg starts, and ffmpeg is then given the checked address itself, so a DNS answer that changes in
 * between (rebinding) cannot send it elsewhere.
 */
export class CameraNetworks {
  private readonly allowed: BlockList | null;

  constructor(
    networks: readonly Cidr[] | 'any' | undefined,
    private readonly resolve: (host: string) => Promise<string[]> = resolveAll,
  ) {
    if (networks === undefined || networks === 'any') {
      this.allowed = null;
      return;
    }
    this.allowed = new BlockList();
    for (const block of networks) this.allowed.addSubnet(block.address, block.prefix, block.family);
  }

  get restricted(): boolean {
    return this.allowed !== null;
  }

  /** The URL to give ffmpeg (its host replaced by the checked address), or why it is refused. */
  async check(url: string): Promise<NetworkVerdict> {
    if (!this.allowed) return { ok: true, url };
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return { ok: false, reason: 'not a valid URL' };
    }
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    let addresses: string[];
    try {
      addresses = isIP(host) ? [host] : await this.resolve(host);
    } catch (err) {
      return {
        ok: false,
        reason: `host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      };
    }
    const outside = addresses.find((address) => !this.allows(address));
    if (outside !== undefined || addresses.length === 0) {
      return {
        ok: false,
        reason: `host ${host} resolves to ${outside ?? 'nothing'}, outside CAMERA_NETWORKS`,
      };
    }
    const address = addresses[0] as string;
    parsed.hostname = isIP(address) === 6 ? `[${address}]` : address;
    return { ok: true, url: parsed.toString() };
  }

  private allows(address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return this.allowed?.check(address, family) ?? true;
  }
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
}
