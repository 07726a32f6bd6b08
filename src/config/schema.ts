import { isIP } from 'node:net';
import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** Streams a worker takes per CPU core when WORKER_MAX_STREAMS is unset: remuxing costs about 0.35 % of a core. */
const STREAMS_PER_CORE = 50;

const integer = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const redisUrl = z
  .string()
  .refine((value) => /^(rediss?|unix):\/\//.test(value), {
    error: 'must start with redis://, rediss:// or unix://',
  })
  .refine((value) => URL.canParse(value), { error: 'is not a valid URL' });

const list = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

const origins = list.pipe(
  z.array(
    z.string().regex(/^https?:\/\/[^/\s*]+$/, {
      error: 'must list http(s)://host[:port] origins; * is refused, since every route needs a credential',
    }),
  ),
);

/** "any", or CIDR blocks such as 10.20.0.0/16 or fd00::/8. */
const networks = z.string().transform((value, context) => {
  if (value.trim() === 'any') return 'any' as const;
  const blocks = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const block of blocks) {
    if (!parseCidr(block))
      context.addIssue({ code: 'custom', message: `"${block}" is not a CIDR block such as 10.20.0.0/16` });
  }
  return blocks.map((block) => parseCidr(block)).filter((cidr): cidr is Cidr => cidr !== null);
});

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseCidr(block: string): Cidr | null {
  const [address = '', prefixText] = block.split('/');
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** 32 bytes, as 64 hex digits or base64. */
const secretKey = z.string().transform((value, context) => {
  const trimmed = value.trim();
  const bytes = /^[0-9a-f]{64}$/i.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : Buffer.from(trimmed, 'base64');
  if (bytes.length !== 32) {
    context.addIssue({
      code: 'custom',
      message: 'must be 32 bytes as 64 hex digits or base64 (openssl rand -hex 32)',
    });
  }
  return bytes;
});

const URL_SCHEMES = ['rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt', 'http', 'https'] as const;

/**
 * Every setting camrelay reads, by the environment variable that sets it. Names carry units.
 * A config file (CONFIG_FILE, JSON) may set the same keys; the environment wins.
 */
export const configKeys = z.strictObject({
  /** Address the relay's HTTP server binds. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Relay HTTP port; 0 picks a free one. */
  PORT: integer(0, 65535).default(8080),
  /**
   * Processes of the relay role that share PORT (a Node cluster), so serving HLS uses more than one core.
   * Each keeps its own caches; everything else they share through Redis, as relays on several hosts do.
   */
  RELAY_PROCESSES: integer(1, 64).default(1),
  /** Port of the worker role's own server (probes, metrics, and its HLS for relays); 0 picks a free one. */
  WORKER_PORT: integer(0, 65535).default(8081),
  /**
   * How relays reach this worker's HLS, e.g. http://10.0.3.7:8081. Unset: this host's first non-internal IPv4
   * address and WORKER_PORT.
   */
  WORKER_ADVERTISE_URL: z
    .string()
    .regex(/^https?:\/\/[^/\s]+$/, { error: 'must be http(s)://host:port, with no path' })
    .optional(),
  /** Root of everything camrelay keeps on disk: HLS output, the embedded Redis. */
  DATA_DIR: z.string().min(1).default('./data'),
  /** Where ingest writes HLS, one folder per camera. Defaults to DATA_DIR/hls. */
  HLS_ROOT: z.string().min(1).optional(),
  /** Redis to use. Unset: `camrelay all` starts its own redis-server under DATA_DIR/redis. */
  REDIS_URL: redisUrl.optional(),
  /** Prefix of every Redis key, so deployments (and tests) can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ . or -' })
    .default('camrelay'),
  /** ffmpeg binary; found on PATH when unset. */
  FFMPEG_PATH: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Name of this worker in health records; hostname-pid when unset. */
  WORKER_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,128}$/, { error: 'must be 1-128 letters, digits, _ . : or -' })
    .optional(),
  /** Cameras one worker process ingests at once. */
  WORKER_MAX_STREAMS: integer(1, 100_000).default(availableParallelism() * STREAMS_PER_CORE),
  /** Target HLS segment length. Remuxed streams cut at the camera's keyframes, so set its GOP to match. */
  HLS_SEGMENT_DURATION_SEC: z.coerce
    .number({ error: 'must be a number' })
    .min(0.5, { error: 'must be at least 0.5' })
    .max(10, { error: 'must be at most 10' })
    .default(1),
  /** Segments kept in the live playlist window. */
  HLS_LIST_SIZE: integer(3, 60).default(6),
  /**
   * `ll`: ffmpeg writes fragmented MP4 to a pipe and camrelay packages it as Low-Latency HLS in memory
   * (parts, blocking reload; classic players get whole segments of the same data). `classic`: ffmpeg's own
   * HLS muxer writes MPEG-TS segments to HLS_ROOT.
   */
  HLS_MODE: z.enum(['ll', 'classic'], { error: 'must be ll or classic' }).default('ll'),
  /** Length of an LL-HLS part (ffmpeg's -frag_duration). */
  HLS_PART_DURATION_MS: integer(100, 1000).default(200),
  /** In ll mode, also write each camera's segments and a classic playlist to HLS_ROOT (a shared volume, recording). */
  HLS_WRITE_DISK: z.enum(['on', 'off'], { error: 'must be on or off' }).default('off'),
  /** ffmpeg's socket I/O timeout towards a camera. */
  RTSP_TIMEOUT_MS: integer(1000, 120_000).default(5000),
  /** An ingest whose frames or segments stop for this long is stalled: ffmpeg is killed and restarted. */
  STALE_TIMEOUT_MS: integer(1000, 120_000).default(5000),
  /** Repeated ffmpeg warnings are counted, and logged as one summary per camera this often. */
  WARNING_SUMMARY_INTERVAL_MS: integer(1000, 3_600_000).default(60_000),
  /** How long ffmpeg gets to exit after SIGINT before SIGKILL. */
  FFMPEG_STOP_GRACE_MS: integer(100, 60_000).default(5000),
  /** BullMQ lock on a start command; one held by a worker that dies is retried after about this long. */
  WORKER_LOCK_DURATION_MS: integer(2000, 600_000).default(10_000),
  /** How often workers look for start commands whose lock expired. */
  WORKER_STALLED_INTERVAL_MS: integer(1000, 600_000).default(5000),
  /** How often a worker writes fps, bitrate and segment age of its cameras (leases are renewed apart). */
  HEALTH_PUBLISH_INTERVAL_MS: integer(200, 300_000).default(10_000),
  /**
   * How long a worker's hold on a camera lasts without renewal (it renews every quarter of it). A killed
   * worker's cameras read offline, and move to other workers, about this long after it dies.
   */
  CAMERA_LEASE_TTL_MS: integer(1500, 120_000).default(6000),
  /**
   * How long a new or re-enabled camera may wait for a worker before it reads offline ("no worker has
   * taken this camera"). Long enough for a large import to be taken up without false alarms.
   */
  CAMERA_START_WAIT_MS: integer(1000, 600_000).default(30_000),
  /** An on-demand camera stops this long after the last playlist request. */
  ON_DEMAND_IDLE_SEC: integer(5, 86_400).default(60),
  /** How long a first playlist request for an on-demand camera waits for the ingest to start. */
  ON_DEMAND_START_WAIT_MS: integer(1000, 120_000).default(15_000),
  /** First RTSP port of `camrelay demo`'s cameras; the camera with a password listens on the next one. */
  DEMO_RTSP_PORT: integer(1, 65534).default(8554),
  /** Browser origins allowed by CORS besides the relay's own, comma-separated. */
  CORS_ORIGINS: origins.default([]),
  /** A bootstrap admin token (at least 32 characters). Unset: only tokens created through the API exist. */
  CAMRELAY_ADMIN_TOKEN: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** Key that seals camera credentials in Redis (AES-256-GCM). Unset: DATA_DIR/secret.key, made on first start. */
  CAMRELAY_SECRET_KEY: secretKey.optional(),
  /** Networks camera hosts must resolve into (CIDR list), or "any". Required for the relay and worker roles. */
  CAMERA_NETWORKS: networks.optional(),
  /** URL schemes a camera may use. http and https only where HTTP sources are intended. */
  CAMERA_URL_SCHEMES: list
    .pipe(z.array(z.enum(URL_SCHEMES, { error: `must be among ${URL_SCHEMES.join(', ')}` })).min(1))
    .default(['rtsp', 'rtsps', 'rtmp', 'rtmps', 'srt']),
  /** Certificate and key (PEM files) to serve HTTPS and HTTP/2. */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  /**
   * With TLS, speak HTTP/2 (and HTTP/1.1 to clients without it). LL-HLS holds a playlist and a part request
   * open per tile: over HTTP/1.1 a browser's six connections per host stall a wall of more than three tiles.
   */
  HTTP2: z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  /**
   * Whether this process accepts RTMP(S) publishers (push cameras). Unset: on in the all and push roles, off
   * in the worker role. The relay role never runs one.
   */
  RTMP_SERVER: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
  /** Address the RTMP(S) server binds. Defaults to HOST. */
  RTMP_HOST: z.string().min(1).optional(),
  /** RTMP port publishers connect to; also the port in publish URLs unless RTMP_PUBLIC_URL says otherwise. */
  RTMP_PORT: integer(0, 65535).default(1935),
  /** RTMPS port, served when RTMPS_CERT_FILE and RTMPS_KEY_FILE are set. */
  RTMPS_PORT: integer(0, 65535).default(1936),
  /** Certificate and key (PEM files) for RTMPS. */
  RTMPS_CERT_FILE: z.string().min(1).optional(),
  RTMPS_KEY_FILE: z.string().min(1).optional(),
  /**
   * Where publishers reach camrelay, e.g. rtmps://push.example.org:1936; publish URLs start with it. Unset:
   * rtmp://, the host name the API was called by, and RTMP_PORT.
   */
  RTMP_PUBLIC_URL: z
    .string()
    .regex(/^rtmps?:\/\/[^/\s?#]+$/, { error: 'must be rtmp://host:port or rtmps://host:port, with no path' })
    .optional(),
  /**
   * How workers reach this process's RTMP server to pull what is published here, e.g. rtmp://10.0.3.9:1935.
   * Unset: RTMP_HOST (or this host's first non-internal IPv4 address when it binds all) and RTMP_PORT.
   */
  RTMP_ADVERTISE_URL: z
    .string()
    .regex(/^rtmp:\/\/[^/\s?#]+$/, { error: 'must be rtmp://host:port, with no path' })
    .optional(),
  /** How long a wall's sign-in lasts. */
  SESSION_TTL_SEC: integer(60, 7 * 86_400).default(12 * 3600),
  /** How long a signed stream URL is valid. */
  STREAM_URL_TTL_SEC: integer(10, 86_400).default(600),
  /** How often the key that signs stream URLs changes; the previous key stays valid one more period. */
  STREAM_KEY_ROTATION_SEC: integer(60, 30 * 86_400).default(86_400),
  /** API requests per minute per token (or per address without one). Streams are not limited. */
  RATE_LIMIT_PER_MIN: integer(10, 1_000_000).default(600),
  /** Sign-in attempts per minute per address. */
  AUTH_RATE_LIMIT_PER_MIN: integer(1, 10_000).default(10),
  /** Trust X-Forwarded-For from a reverse proxy in front of the relay (for audit and rate limits). */
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
});

export type ConfigKeys = z.output<typeof configKeys>;

/**
 * A check across keys still runs when other keys are bad, so one start reports every problem; it waits
 * only for the keys it reads.
 */
const whenValid =
  (...keys: Array<keyof typeof configKeys.shape>) =>
  (payload: { value: unknown }) =>
    z.object(Object.fromEntries(keys.map((key) => [key, configKeys.shape[key]]))).safeParse(payload.value)
      .success;

export const configSchema = configKeys
  .refine((keys) => keys.STREAM_URL_TTL_SEC <= keys.STREAM_KEY_ROTATION_SEC, {
    path: ['STREAM_URL_TTL_SEC'],
    error: 'must not exceed STREAM_KEY_ROTATION_SEC, or URLs outlive their signing key',
    when: whenValid('STREAM_URL_TTL_SEC', 'STREAM_KEY_ROTATION_SEC'),
  })
  .refine((keys) => Boolean(keys.TLS_CERT_FILE) === Boolean(keys.TLS_KEY_FILE), {
    path: ['TLS_KEY_FILE'],
    error: 'TLS_CERT_FILE and TLS_KEY_FILE go together',
    when: whenValid('TLS_CERT_FILE', 'TLS_KEY_FILE'),
  })
  .refine((keys) => Boolean(keys.RTMPS_CERT_FILE) === Boolean(keys.RTMPS_KEY_FILE), {
    path: ['RTMPS_KEY_FILE'],
    error: 'RTMPS_CERT_FILE and RTMPS_KEY_FILE go together',
    when: whenValid('RTMPS_CERT_FILE', 'RTMPS_KEY_FILE'),
  })
  .transform((keys) => {
    const dataDir = path.resolve(keys.DATA_DIR);
    return {
      http: { host: keys.HOST, port: keys.PORT, corsOrigins: keys.CORS_ORIGINS },
      relay: { processes: keys.RELAY_PROCESSES },
      dataDir,
      hlsRoot: path.resolve(keys.HLS_ROOT ?? path.join(dataDir, 'hls')),
      redis: { url: keys.REDIS_URL, prefix: keys.REDIS_PREFIX },
      logLevel: keys.LOG_LEVEL,
      ffmpeg: {
        path: keys.FFMPEG_PATH,
        rtspTimeoutMs: keys.RTSP_TIMEOUT_MS,
        stopGraceMs: keys.FFMPEG_STOP_GRACE_MS,
        staleTimeoutMs: keys.STALE_TIMEOUT_MS,
        warningSummaryIntervalMs: keys.WARNING_SUMMARY_INTERVAL_MS,
      },
      hls: {
        segmentDurationSec: keys.HLS_SEGMENT_DURATION_SEC,
        listSize: keys.HLS_LIST_SIZE,
        mode: keys.HLS_MODE,
        partDurationMs: keys.HLS_PART_DURATION_MS,
        writeDisk: keys.HLS_WRITE_DISK === 'on',
      },
      worker: {
        id: keys.WORKER_ID ?? `${hostname()}-${process.pid}`,
        port: keys.WORKER_PORT,
        advertiseUrl: keys.WORKER_ADVERTISE_URL,
        maxStreams: keys.WORKER_MAX_STREAMS,
        lockDurationMs: keys.WORKER_LOCK_DURATION_MS,
        stalledIntervalMs: keys.WORKER_STALLED_INTERVAL_MS,
      },
      health: {
        publishIntervalMs: keys.HEALTH_PUBLISH_INTERVAL_MS,
        leaseMs: keys.CAMERA_LEASE_TTL_MS,
        startWaitMs: keys.CAMERA_START_WAIT_MS,
      },
      onDemand: { idleSec: keys.ON_DEMAND_IDLE_SEC, startWaitMs: keys.ON_DEMAND_START_WAIT_MS },
      demo: { rtspPort: keys.DEMO_RTSP_PORT },
      push: {
        server: keys.RTMP_SERVER,
        host: keys.RTMP_HOST ?? keys.HOST,
        port: keys.RTMP_PORT,
        rtmps:
          keys.RTMPS_CERT_FILE && keys.RTMPS_KEY_FILE
            ? { port: keys.RTMPS_PORT, certFile: keys.RTMPS_CERT_FILE, keyFile: keys.RTMPS_KEY_FILE }
            : null,
        publicUrl: keys.RTMP_PUBLIC_URL,
        advertiseUrl: keys.RTMP_ADVERTISE_URL,
      },
      security: {
        adminToken: keys.CAMRELAY_ADMIN_TOKEN,
        secretKey: keys.CAMRELAY_SECRET_KEY,
        cameraNetworks: keys.CAMERA_NETWORKS,
        cameraUrlSchemes: keys.CAMERA_URL_SCHEMES,
        sessionTtlSec: keys.SESSION_TTL_SEC,
        streamUrlTtlSec: keys.STREAM_URL_TTL_SEC,
        streamKeyRotationSec: keys.STREAM_KEY_ROTATION_SEC,
        rateLimitPerMin: keys.RATE_LIMIT_PER_MIN,
        authRateLimitPerMin: keys.AUTH_RATE_LIMIT_PER_MIN,
        trustProxy: keys.TRUST_PROXY === 'true',
      },
      tls:
        keys.TLS_CERT_FILE && keys.TLS_KEY_FILE
          ? { certFile: keys.TLS_CERT_FILE, keyFile: keys.TLS_KEY_FILE, http2: keys.HTTP2 === 'on' }
          : null,
    };
  });

export type Config = Readonly<z.output<typeof configSchema>>;
