import { LuaScript } from '../redis/script.js';

/*
 * Every status change goes through these scripts. In the same atomic step they keep the per-status
 * counts (so the deployment summary is one HGETALL however many cameras there are) and append the change
 * to the deployment's event stream and the camera's own history. Times come from Redis's clock (TIME),
 * so hosts with skewed clocks still agree on whose heartbeat is stale.
 *
 * Common arguments, first in every script here:
 *   KEYS[1] status counts (hash), KEYS[2] heartbeats (zset), KEYS[3] events (stream)
 *   ARGV[1] health key prefix, ARGV[2] history key prefix, ARGV[3] events max length, ARGV[4] history max length
 * Each script's own arguments follow, from KEYS[4] and ARGV[5].
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local counts, beats, events = KEYS[1], KEYS[2], KEYS[3]
local healthPrefix, historyPrefix, eventsMax, historyMax = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function move(from, to)
  if from == to then return end
  if from then redis.call('HINCRBY', counts, from, -1) end
  if to then redis.call('HINCRBY', counts, to, 1) end
end

local function record(id, from, to, reason)
  local fields = {'camera', id, 'from', from or '', 'to', to, 'reason', reason or '', 'at', now}
  local eventId = redis.call('XADD', events, 'MAXLEN', '~', eventsMax, '*', unpack(fields))
  -- Same id in the camera's history; pcall, so a history that is somehow ahead cannot fail the change.
  redis.pcall('XADD', historyPrefix .. id, 'MAXLEN', '~', historyMax, eventId, unpack(fields))
end

-- Moves a camera to a status: count, since, event. The caller has checked it may.
local function setStatus(id, key, from, to, reason)
  if from == to then return end
  move(from, to)
  redis.call('HSET', key, 'status', to, 'sinceMs', now)
  record(id, from, to, reason)
end
`;

const COMMON_KEYS = 3;

/** ARGV[5] cameraId, ARGV[6] status ('starting' | 'disabled'). A new, re-enabled or disabled camera. */
export const REGISTER = new LuaScript(
  `${PRELUDE}
local id, status = ARGV[5], ARGV[6]
local key = healthPrefix .. id
local reason = ''
if status == 'starting' then reason = 'waiting for a worker' end
setStatus(id, key, redis.call('HGET', key, 'status') or nil, status, reason)
redis.call('HSET', key, 'workerId', '', 'heartbeatAtMs', now, 'lastError', '', 'fps', '', 'bitrateKbps', '')
if status == 'disabled' then redis.call('ZREM', beats, id) else redis.call('ZADD', beats, now, id) end
return 1`,
  COMMON_KEYS,
);

/** KEYS[4] cameras. ARGV[5] cameraId, ARGV[6] workerId. A worker takes a camera, if it exists and is enabled. */
export const CLAIM = new LuaScript(
  `${PRELUDE}
local id, worker = ARGV[5], ARGV[6]
local camera = redis.call('HGET', KEYS[4], id)
if not camera then return 'missing' end
if cjson.decode(camera).enabled == false then return 'disabled' end
local key = healthPrefix .. id
setStatus(id, key, redis.call('HGET', key, 'status') or nil, 'starting', 'taken by worker ' .. worker)
redis.call('HSET', key, 'workerId', worker, 'heartbeatAtMs', now, 'lastError', '', 'fps', '', 'bitrateKbps', '')
redis.call('ZADD', beats, now, id)
return 'ok'`,
  COMMON_KEYS + 1,
);

/**
 * ARGV[5] cameraId, ARGV[6] workerId, ARGV[7] status, ARGV[8] restart (0|1), ARGV[9] reason, then field/value
 * pairs. Applies only for the owner, so a worker that lost a camera never overwrites its new owner's truth.
 * Returns 1 when written, 0 when another worker owns the camera, -1 when nobody does (deleted, disabled).
 */
export const REPORT = new LuaScript(
  `${PRELUDE}
local id, worker, status = ARGV[5], ARGV[6], ARGV[7]
local key = healthPrefix .. id
local owner = redis.call('HGET', key, 'workerId')
if not owner or owner == '' then return -1 end
if owner ~= worker then return 0 end
setStatus(id, key, redis.call('HGET', key, 'status'), status, ARGV[9])
if ARGV[8] == '1' then redis.call('HINCRBY', key, 'restarts', 1) end
redis.call('HSET', key, 'heartbeatAtMs', now)
if #ARGV > 9 then redis.call('HSET', key, unpack(ARGV, 10)) end
redis.call('ZADD', beats, now, id)
return 1`,
  COMMON_KEYS,
);

/** ARGV[5] cameraId, ARGV[6] workerId, ARGV[7] reason. The owner lets go (shutdown, hand-over). */
export const RELEASE = new LuaScript(
  `${PRELUDE}
local id, worker, reason = ARGV[5], ARGV[6], ARGV[7]
local key = healthPrefix .. id
if redis.call('HGET', key, 'workerId') ~= worker then return 0 end
setStatus(id, key, redis.call('HGET', key, 'status'), 'offline', reason)
redis.call('HSET', key, 'workerId', '', 'heartbeatAtMs', now, 'lastError', reason, 'fps', '', 'bitrateKbps', '')
redis.call('ZADD', beats, now, id)
return 1`,
  COMMON_KEYS,
);

/** ARGV[5] cameraId. The camera was deleted: its record, count and history go. */
export const REMOVE = new LuaScript(
  `${PRELUDE}
local id = ARGV[5]
local old = redis.call('HGET', healthPrefix .. id, 'status')
move(old or nil, nil)
redis.call('DEL', healthPrefix .. id, historyPrefix .. id)
redis.call('ZREM', beats, id)
return old and 1 or 0`,
  COMMON_KEYS,
);

/**
 * KEYS[4] cameras. ARGV[5] staleMs, ARGV[6] limit. Marks cameras whose worker went silent offline (making
 * permanent what reads already show), and drops the records of cameras deleted behind our back.
 */
export const SWEEP = new LuaScript(
  `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', beats, '-inf', now - tonumber(ARGV[5]), 'LIMIT', 0, tonumber(ARGV[6]))
for _, id in ipairs(ids) do
  local key = healthPrefix .. id
  local old = redis.call('HGET', key, 'status')
  if redis.call('HEXISTS', KEYS[4], id) == 0 then
    move(old or nil, nil)
    redis.call('DEL', key, historyPrefix .. id)
  elseif old and old ~= 'offline' and old ~= 'disabled' then
    local worker = redis.call('HGET', key, 'workerId')
    local reason = 'no worker has taken this camera'
    if worker and worker ~= '' then reason = 'worker ' .. worker .. ' stopped reporting' end
    setStatus(id, key, old, 'offline', reason)
    redis.call('HSET', key, 'lastError', reason, 'fps', '', 'bitrateKbps', '')
  end
  redis.call('ZREM', beats, id)
end
return #ids`,
  COMMON_KEYS + 1,
);

/** KEYS: workers, worker. ARGV: workerId, ttlMs, then field/value pairs. */
export const WORKER_BEAT = new LuaScript(
  `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400000)
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
redis.call('HSET', KEYS[2], 'heartbeatAtMs', now)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return now`,
  2,
);

export const ALL_SCRIPTS = [REGISTER, CLAIM, REPORT, RELEASE, REMOVE, SWEEP, WORKER_BEAT];
