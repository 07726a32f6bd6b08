/** Every Redis key camrelay writes, under one prefix (REDIS_PREFIX), so deployments and tests can share a Redis. */
export interface RedisKeys {
  readonly prefix: string;
  /** Hash: camera id → Camera JSON (the wanted state). */
  readonly cameras: string;
  /** Sorted set of camera ids (all scores 0), for paging in id order. */
  readonly cameraIndex: string;
  /** Pub/sub channel: a camera id each time a camera is created, changed or deleted. */
  readonly cameraChanges: string;
  /** Hash per camera: the health record (the actual state). Its key is healthPrefix + id. */
  health(cameraId: string): string;
  readonly healthPrefix: string;
  /** Stream: every status change in the deployment, bounded. */
  readonly events: string;
  /** List per camera: its recent status changes as JSON, newest first, bounded. Its key is historyPrefix + id. */
  readonly historyPrefix: string;
  /** Hash: status → number of cameras in it, kept by the same scripts that change a status. */
  readonly healthCounts: string;
  /** Sorted set: camera id → deadline (ms) by which its owner must renew, or a worker must take it. */
  readonly healthDeadlines: string;
  /** Sorted set: on-demand camera id → last time (ms) a player asked for its playlist. */
  readonly demand: string;
  /** Hash: SHA-256 of an API token → its record. */
  readonly tokens: string;
  /** Hash: token id → SHA-256 of the token, to revoke by id. */
  readonly tokenIds: string;
  /** String per session: SHA-256 of the session id → the signed-in principal. Its key is sessionPrefix + hash. */
  readonly sessionPrefix: string;
  /** Hash: signing-key id → sealed key, for stream URLs. */
  readonly streamKeys: string;
  /** Stream: the audit log. */
  readonly audit: string;
  /** Hash: wall layout name → layout JSON. */
  readonly layouts: string;
  /** Sorted set: worker id → last heartbeat (ms). */
  readonly workers: string;
  /** Hash per worker: host, pid, streams. */
  worker(workerId: string): string;
  /** String per pushed camera, with a TTL its push server renews: who holds its publisher, and where. */
  pushClaim(cameraId: string): string;
  /** Pub/sub channel: a camera id each time a publisher of it is admitted. */
  readonly pushPublished: string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    prefix,
    cameras: `${prefix}:cameras`,
    cameraIndex: `${prefix}:cameras:index`,
    cameraChanges: `${prefix}:cameras:changes`,
    health: (cameraId) => `${prefix}:health:${cameraId}`,
    healthPrefix: `${prefix}:health:`,
    events: `${prefix}:events`,
    historyPrefix: `${prefix}:history:`,
    healthCounts: `${prefix}:health:counts`,
    healthDeadlines: `${prefix}:health:deadlines`,
    demand: `${prefix}:demand`,
    tokens: `${prefix}:tokens`,
    tokenIds: `${prefix}:token-ids`,
    sessionPrefix: `${prefix}:session:`,
    streamKeys: `${prefix}:stream-keys`,
    audit: `${prefix}:audit`,
    layouts: `${prefix}:layouts`,
    workers: `${prefix}:workers`,
    worker: (workerId) => `${prefix}:worker:${workerId}`,
    pushClaim: (cameraId) => `${prefix}:push:claim:${cameraId}`,
    pushPublished: `${prefix}:push:published`,
  };
}
