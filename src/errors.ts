import createError from '@fastify/error';

/**
 * Every error camrelay raises on purpose, with its code and HTTP status, in one place (as fastify does).
 * Codes are part of the API: clients match on `code`, never on `message`.
 */
export const Errors = {
  CONFIG_INVALID: createError<'CAMRELAY_ERR_CONFIG_INVALID', 500, [string]>(
    'CAMRELAY_ERR_CONFIG_INVALID',
    'invalid configuration:\n%s',
    500,
  ),
  FFMPEG_NOT_FOUND: createError<'CAMRELAY_ERR_FFMPEG_NOT_FOUND', 500, [string]>(
    'CAMRELAY_ERR_FFMPEG_NOT_FOUND',
    'ffmpeg not found (%s): install it with scripts/setup.sh or point FFMPEG_PATH at it',
    500,
  ),
  REDIS_SERVER_NOT_FOUND: createError<'CAMRELAY_ERR_REDIS_SERVER_NOT_FOUND', 500, [string]>(
    'CAMRELAY_ERR_REDIS_SERVER_NOT_FOUND',
    'REDIS_URL is unset, so camrelay starts its own redis-server, but %s: install it with scripts/setup.sh or set REDIS_URL',
    500,
  ),
  REDIS_START_FAILED: createError<'CAMRELAY_ERR_REDIS_START_FAILED', 500, [string]>(
    'CAMRELAY_ERR_REDIS_START_FAILED',
    'the embedded redis-server did not start: %s',
    500,
  ),
  VALIDATION: createError<'CAMRELAY_ERR_VALIDATION', 400, [string]>('CAMRELAY_ERR_VALIDATION', '%s', 400),
  CAMERA_NOT_FOUND: createError<'CAMRELAY_ERR_CAMERA_NOT_FOUND', 404, [string]>(
    'CAMRELAY_ERR_CAMERA_NOT_FOUND',
    'camera %s does not exist',
    404,
  ),
  CAMERA_EXISTS: createError<'CAMRELAY_ERR_CAMERA_EXISTS', 409, [string]>(
    'CAMRELAY_ERR_CAMERA_EXISTS',
    'camera %s already exists',
    409,
  ),
  LAYOUT_NOT_FOUND: createError<'CAMRELAY_ERR_LAYOUT_NOT_FOUND', 404, [string]>(
    'CAMRELAY_ERR_LAYOUT_NOT_FOUND',
    'layout %s does not exist',
    404,
  ),
  LAYOUT_EXISTS: createError<'CAMRELAY_ERR_LAYOUT_EXISTS', 409, [string]>(
    'CAMRELAY_ERR_LAYOUT_EXISTS',
    'layout %s already exists',
    409,
  ),
  NO_SNAPSHOT: createError<'CAMRELAY_ERR_NO_SNAPSHOT', 404, [string]>(
    'CAMRELAY_ERR_NO_SNAPSHOT',
    'camera %s is not streaming now, so it has no recent picture',
    404,
  ),
  SNAPSHOTS_UNAVAILABLE: createError<'CAMRELAY_ERR_SNAPSHOTS_UNAVAILABLE', 503, [string]>(
    'CAMRELAY_ERR_SNAPSHOTS_UNAVAILABLE',
    'snapshots need ffmpeg on this relay: %s',
    503,
  ),
  NOT_FOUND: createError<'CAMRELAY_ERR_NOT_FOUND', 404, []>('CAMRELAY_ERR_NOT_FOUND', 'not found', 404),
  UNAUTHENTICATED: createError<'CAMRELAY_ERR_UNAUTHENTICATED', 401, []>(
    'CAMRELAY_ERR_UNAUTHENTICATED',
    'a credential is required: a bearer token or a session cookie',
    401,
  ),
  FORBIDDEN: createError<'CAMRELAY_ERR_FORBIDDEN', 403, [string, string]>(
    'CAMRELAY_ERR_FORBIDDEN',
    'the %s role cannot do this; it needs %s',
    403,
  ),
  HLS_DIRECTIVE_INVALID: createError<'CAMRELAY_ERR_HLS_DIRECTIVE_INVALID', 400, [string]>(
    'CAMRELAY_ERR_HLS_DIRECTIVE_INVALID',
    'playlist request cannot be served: %s',
    400,
  ),
  HLS_PART_TIMEOUT: createError<'CAMRELAY_ERR_HLS_PART_TIMEOUT', 503, [string]>(
    'CAMRELAY_ERR_HLS_PART_TIMEOUT',
    'playlist not ready: %s',
    503,
  ),
  STREAM_FORBIDDEN: createError<'CAMRELAY_ERR_STREAM_FORBIDDEN', 403, [string]>(
    'CAMRELAY_ERR_STREAM_FORBIDDEN',
    'stream URL refused: %s',
    403,
  ),
  RATE_LIMITED: createError<'CAMRELAY_ERR_RATE_LIMITED', 429, [string]>(
    'CAMRELAY_ERR_RATE_LIMITED',
    'too many requests; retry in %s',
    429,
  ),
  TOKEN_NOT_FOUND: createError<'CAMRELAY_ERR_TOKEN_NOT_FOUND', 404, [string]>(
    'CAMRELAY_ERR_TOKEN_NOT_FOUND',
    'token %s does not exist',
    404,
  ),
  SECRET_KEY_INVALID: createError<'CAMRELAY_ERR_SECRET_KEY_INVALID', 500, [string]>(
    'CAMRELAY_ERR_SECRET_KEY_INVALID',
    'the secret key cannot be used: %s',
    500,
  ),
  REDIS_UNAVAILABLE: createError<'CAMRELAY_ERR_REDIS_UNAVAILABLE', 503, [string]>(
    'CAMRELAY_ERR_REDIS_UNAVAILABLE',
    'redis is not reachable: %s',
    503,
  ),
  CAMERA_NOT_PUSH: createError<'CAMRELAY_ERR_CAMERA_NOT_PUSH', 409, [string]>(
    'CAMRELAY_ERR_CAMERA_NOT_PUSH',
    'camera %s pulls its video from a URL; only push cameras have a publish key',
    409,
  ),
  RTMP_LISTEN_FAILED: createError<'CAMRELAY_ERR_RTMP_LISTEN_FAILED', 500, [string, string]>(
    'CAMRELAY_ERR_RTMP_LISTEN_FAILED',
    'the RTMP server cannot listen (%s): %s',
    500,
  ),
} as const;

export type CamrelayError = ReturnType<(typeof Errors)[keyof typeof Errors]>;

/** A 400 that names the offending field, as schema validation does. */
export function invalidField(
  field: string,
  message: string,
): CamrelayError & { fields: Array<{ field: string; message: string }> } {
  return Object.assign(new Errors.VALIDATION(`${field}: ${message}`), { fields: [{ field, message }] });
}
