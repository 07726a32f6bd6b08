import type { Redis } from 'ioredis';
import { Errors } from '../errors.js';
import type { RedisKeys } from '../redis/keys.js';
import { LuaScript } from '../redis/script.js';
import type { Camera, CameraDraft } from './camera.js';
import { generateCameraId } from './camera-id.js';

const CREATE = new LuaScript(
  `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`,
  3,
);

/** Writes only if nobody changed the camera since we read it (compare-and-set on the revision). */
const UPDATE = new LuaScript(
  `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
if cjson.decode(current).revision ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`,
  3,
);

const DELETE = new LuaScript(
  `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`,
  3,
);

const MAX_GENERATED_ID_TRIES = 5;
const PIPELINE_BATCH = 1000;
const MAX_UPDATE_TRIES = 10;

export interface CameraPage {
  items: Camera[];
  nextCursor: string | null;
}

/**
 * The wanted state of every camera, in Redis. Each write publishes the camera id on a channel, so
 * workers apply changes within moments; a worker also re-reads its cameras periodically in case it
 * missed a message.
 */
export class CameraRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async create(input: CameraDraft, now = new Date()): Promise<Camera> {
    const tries = input.id ? 1 : MAX_GENERATED_ID_TRIES;
    for (let i = 0; i < tries; i++) {
      const id = input.id ?? generateCameraId(input.name);
      const at = now.toISOString();
      const camera: Camera = { ...input, id, createdAt: at, updatedAt: at, revision: 1 };
      const created = await CREATE.run(this.redis, this.writeKeys(), [id, JSON.stringify(camera)]);
      if (created === 1) return camera;
    }
    throw new Errors.CAMERA_EXISTS(input.id ?? 'with a generated id');
  }

  /**
   * Many cameras in few round trips (pipelined, a thousand at a time), for imports. Returns, in order, the
   * camera created, or null where the id was taken.
   */
  async createMany(drafts: readonly CameraDraft[], now = new Date()): Promise<Array<Camera | null>> {
    await CREATE.load(this.redis);
    const at = now.toISOString();
    const cameras = drafts.map(
      (draft): Camera => ({
        ...draft,
        id: draft.id ?? generateCameraId(draft.name),
        createdAt: at,
        updatedAt: at,
        revision: 1,
      }),
    );
    const created: Array<Camera | null> = [];
    for (let i = 0; i < cameras.length; i += PIPELINE_BATCH) {
      const batch = cameras.slice(i, i + PIPELINE_BATCH);
      const pipeline = this.redis.pipeline();
      for (const camera of batch)
        CREATE.queue(pipeline, this.writeKeys(), [camera.id, JSON.stringify(camera)]);
      const results = (await pipeline.exec()) ?? [];
      batch.forEach((camera, j) => {
        const [err, reply] = results[j] ?? [new Error('no reply'), null];
        if (err) throw err;
        created.push(reply === 1 ? camera : null);
      });
    }
    return created;
  }

  async get(id: string): Promise<Camera | null> {
    const json = await this.redis.hget(this.keys.cameras, id);
    return json ? (JSON.parse(json) as Camera) : null;
  }

  /** Many cameras in one round trip; missing ones come back as null, in order. */
  async getMany(ids: readonly string[]): Promise<Array<Camera | null>> {
    if (ids.length === 0) return [];
    const values = await this.redis.hmget(this.keys.cameras, ...ids);
    return values.map((json) => (json ? (JSON.parse(json) as Camera) : null));
  }

  async update(
    id: string,
    patch: Partial<Omit<CameraDraft, 'id'>>,
    now = new Date(),
  ): Promise<{ before: Camera; after: Camera }> {
    for (let i = 0; i < MAX_UPDATE_TRIES; i++) {
      const before = await this.get(id);
      if (!before) throw new Errors.CAMERA_NOT_FOUND(id);
      const after: Camera = {
        ...before,
        ...definedOnly(patch),
        updatedAt: now.toISOString(),
        revision: before.revision + 1,
      };
      const result = await UPDATE.run(this.redis, this.writeKeys(), [
        id,
        JSON.stringify(after),
        before.revision,
      ]);
      if (result === 1) return { before, after };
      if (result === -1) throw new Errors.CAMERA_NOT_FOUND(id);
    }
    throw new Error(`camera ${id} kept changing under ${MAX_UPDATE_TRIES} concurrent updates`);
  }

  async delete(id: string): Promise<boolean> {
    return (await DELETE.run(this.redis, this.writeKeys(), [id])) === 1;
  }

  /** A page in id order; `cursor` is the last id of the previous page. */
  async list(limit: number, cursor?: string): Promise<CameraPage> {
    const ids = await this.redis.zrangebylex(
      this.keys.cameraIndex,
      cursor ? `(${cursor}` : '-',
      '+',
      'LIMIT',
      0,
      limit + 1,
    );
    const pageIds = ids.slice(0, limit);
    const cameras = await this.getMany(pageIds);
    return {
      items: cameras.filter((camera): camera is Camera => camera !== null),
      nextCursor: ids.length > limit ? (pageIds.at(-1) ?? null) : null,
    };
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.cameraIndex);
  }

  /** Every camera id, page by page, without holding them all in memory at once. */
  async *allIds(pageSize = 1000): AsyncGenerator<string[]> {
    let cursor: string | undefined;
    for (;;) {
      const ids = await this.redis.zrangebylex(
        this.keys.cameraIndex,
        cursor ? `(${cursor}` : '-',
        '+',
        'LIMIT',
        0,
        pageSize,
      );
      if (ids.length === 0) return;
      yield ids;
      cursor = ids.at(-1);
      if (ids.length < pageSize) return;
    }
  }

  private writeKeys(): [string, string, string] {
    return [this.keys.cameras, this.keys.cameraIndex, this.keys.cameraChanges];
  }
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}
