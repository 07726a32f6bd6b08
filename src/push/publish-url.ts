/** The RTMP application push cameras publish to: rtmp://host:port/live/<cameraId>?key=… */
export const PUSH_APP = 'live';

/** Where publishers reach camrelay: RTMP_PUBLIC_URL, or rtmp:// the host the API was called by, and RTMP_PORT. */
export function publishBase(
  publicUrl: string | undefined,
  requestHostname: string,
  rtmpPort: number,
): string {
  if (publicUrl) return publicUrl;
  const host =
    requestHostname.includes(':') && !requestHostname.startsWith('[')
      ? `[${requestHostname}]`
      : requestHostname;
  return `rtmp://${host}:${rtmpPort}`;
}

/** The URL a publisher is given once, with its key. */
export function publishUrl(base: string, cameraId: string, key: string): string {
  return `${base}/${PUSH_APP}/${cameraId}?key=${key}`;
}

/** The URL a worker's ffmpeg plays a pushed camera from, on the push server that holds its publisher. */
export function pullUrl(origin: string, cameraId: string, token: string): string {
  return `${origin}/${PUSH_APP}/${cameraId}?token=${token}`;
}
