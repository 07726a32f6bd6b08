import { hostname, networkInterfaces } from 'node:os';

/**
 * How other processes reach a server bound to `bindHost`: that address itself, or, where it binds every
 * address, this host's first external IPv4 address (its container's, under compose). Bracketed for IPv6.
 */
export function advertisedHost(bindHost: string): string {
  if (bindHost !== '0.0.0.0' && bindHost !== '::') return bindHost.includes(':') ? `[${bindHost}]` : bindHost;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
  return address ?? hostname();
}
