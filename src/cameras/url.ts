/**
 * Camera URLs carry credentials (rtsp://user:password@host/…, or ?password=… on some vendors).
 * Nothing outside the ingest argv may show them: API responses get maskUrl(), and any text that
 * may echo a URL (ffmpeg's stderr, error messages) goes through redactSecrets().
 */

export const MASK = '***';

/** Query parameters vendors use for credentials; their values are masked like a password. */
const SECRET_QUERY_PARAMS = /^(password|passwd|pass|pwd|key|token|secret|auth|authorization|signature|sig)$/i;

/** Literal secrets shorter than this are left to the structural rules, so short words are not mangled. */
const MIN_LITERAL_SECRET_LENGTH = 4;

const USERINFO_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]*:)[^\s@'"]*@/gi;
const SECRET_QUERY_IN_TEXT =
  /([?&;](?:password|passwd|pass|pwd|key|token|secret|auth|authorization|signature|sig)=)[^&\s'"]*/gi;

export function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** rtsp://admin:secret@cam/stream → rtsp://admin:***@cam/stream; secret query values become ***. */
export function maskUrl(url: string): string {
  const parsed = parseUrl(url);
  if (!parsed) return redactSecrets(url, []);
  const userinfo = parsed.username
    ? `${parsed.username}${parsed.password ? `:${MASK}` : ''}@`
    : parsed.password
      ? `:${MASK}@`
      : '';
  const params = [...parsed.searchParams.keys()];
  let search = parsed.search;
  if (params.some((name) => SECRET_QUERY_PARAMS.test(name))) {
    const masked = new URLSearchParams();
    for (const [name, value] of parsed.searchParams) {
      masked.append(name, SECRET_QUERY_PARAMS.test(name) ? MASK : value);
    }
    search = `?${masked.toString().replaceAll(encodeURIComponent(MASK), MASK)}`;
  }
  return `${parsed.protocol}//${userinfo}${parsed.host}${parsed.pathname}${search}${parsed.hash}`;
}

/** The strings that must never be shown for this URL: its password, raw and decoded, and secret query values. */
export function secretsOf(url: string): string[] {
  const parsed = parseUrl(url);
  if (!parsed) return [];
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (!value) return;
    secrets.add(value);
    try {
      secrets.add(decodeURIComponent(value));
    } catch {
      // a malformed escape: the raw form is still covered
    }
  };
  add(parsed.password);
  for (const [name, value] of parsed.searchParams) {
    if (SECRET_QUERY_PARAMS.test(name)) {
      add(value);
      add(encodeURIComponent(value));
    }
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** Masks credentials in free text: any scheme://user:password@, secret query values, and the given literals. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text.replace(USERINFO_PASSWORD, `$1${MASK}@`).replace(SECRET_QUERY_IN_TEXT, `$1${MASK}`);
  for (const secret of secrets) {
    if (secret.length >= MIN_LITERAL_SECRET_LENGTH) out = out.replaceAll(secret, MASK);
  }
  return out;
}
