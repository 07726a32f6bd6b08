import { LuaScript } from '../redis/script.js';

/*
 * Every status change and every change of ownership goes through these scripts. In the same atomic step
 * they keep the per-status counts (so the deployment summary is one HGETALL however many cameras there
 * are) and append status changes to the deployment's event stream and the camera's own history.
 *
 * Ownership is a lease: the health record names the worker that ingests the camera, and the deadlines set
 * holds the time by which that worker must renew (or, for a camera waiting for a worker, by which one must
 * take it). A worker renews all its cameras in one call; a camera whose deadline passes is offline and free
 * for another worker. Times come from Redis's clock (TIME), so hosts with skewed clocks agree.
 *
 * Common arguments, first in every script here:
 *   KEYS[1] status counts (hash), KEYS[2] deadlines (zset), KEYS[3] events (stream; the per-camera history
 *   lists are named from ARGV[2])
 *   ARGV[1] health key prefix, ARGV[2] history key prefix, ARGV[3] events max length, ARGV[4] history max length
 * Each script's own arguments follow, from KEYS[4] and ARGV[5].
 */
const PRELUDE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local counts, deadlines, events = KEYS[1], KEYS[2], KEYS[3]
local healthPrefix, historyPrefix, eventsMax, historyMax = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local function move(from, to)
  if from == to then return end
  if from then redis.call('HINCRBY', counts, from, -1) end
  if to then redis.call('HINCRBY', counts, to, 1) end
end

local function record(id, from, to, reason)
  local fields = {'camera', id, 'from', from or '', 'to', to, 'reason', reason or '', 'at', now}
  local eventId = redis.call('XADD', events, 'MAXLEN', '~', eventsMax, '*', unpack(fields))
  -- The camera's own history is a short list, not a stream: a stream costs about 4 KB even nearly empty,
  -- which at 62,000 cameras is a quarter of a gigabyte for a handful of events each.
  local entry = cjson.encode({id = eventId, camera = id, from = from or '', to = to, reason = reason or '', at = now})
  redis.call('LPUSH', historyPrefix .. id, entry)
  redis.call('LTRIM', historyPrefix .. id, 0, tonumber(historyMax) - 1)
end

-- Whether a report taken after seq status changes of its session is as new as what is stored, which it
-- then becomes; '' (no sequence) always is.
local function fresh(key, seq)
  seq = tonumber(seq)
  if not seq then return true end
  local stored = tonumber(redis.call('HGET', key, 'statusSeq') or '')
  if stored and seq < stored then return false end
  redis.call('HSET', key, 'statusSeq', seq)
  return true
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

/**
 * ARGV[5] cameraId, ARGV[6] status, ARGV[7] ms a worker has to take it. A new, re-enabled or disabled camera,
 * or one turned on-demand; nobody owns it. 'starting': waiting for a worker; 'idle': waiting for a viewer.
 */
export const REGISTER = new LuaScript(
  `${PRELUDE}
local id, status = ARGV[5], ARGV[6]
local key = healthPrefix .. id
local reason = ''
if status == 'starting' then reason = 'waiting for a worker' end
if status == 'idle' then reason = 'on demand: starts when someone watches' end
setStatus(id, key, redis.call('HGET', key, 'status') or nil, status, reason)
redis.call('HSET', key, 'workerId', '', 'lastError', '', 'fps', '', 'bitrateKbps', '')
if status == 'starting' then redis.call('ZADD', deadlines, now + tonumber(ARGV[7]), id)
else redis.call('ZREM', deadlines, id) end
return 1`,
  COMMON_KEYS,
);

/**
 * KEYS[4] cameras. ARGV[5] workerId, ARGV[6] lease ms, then camera ids. A worker takes cameras; each answer,
 * in order: 'ok', or refused because it was deleted ('missing') or disabled, or while another worker's lease
 * on it runs ('held').
 */
export const CLAIM = new LuaScript(
  `${PRELUDE}
local worker, deadline = ARGV[5], now + tonumber(ARGV[6])
local function claim(id)
  local camera = redis.call('HGET', KEYS[4], id)
  if not camera then return 'missing' end
  if cjson.decode(camera).enabled == false then return 'disabled' end
  local key = healthPrefix .. id
  local owner = redis.call('HGET', key, 'workerId')
  local heldUntil = tonumber(redis.call('ZSCORE', deadlines, id) or '0')
  if owner and owner ~= '' and owner ~= worker and heldUntil > now then return 'held' end
  setStatus(id, key, redis.call('HGET', key, 'status') or nil, 'starting', 'taken by worker ' .. worker)
  redis.call('HSET', key, 'workerId', worker, 'lastError', '', 'fps', '', 'bitrateKbps', '', 'statusSeq', 0)
  redis.call('ZADD', deadlines, deadline, id)
  return 'ok'
end
local results = {}
for i = 7, #ARGV do results[#results + 1] = claim(ARGV[i]) end
return results`,
  COMMON_KEYS + 1,
);

/**
 * ARGV[5] workerId, ARGV[6] lease ms, then camera ids. Renews the worker's leases in one call and returns
 * the cameras it no longer owns, which it must stop at once.
 */
export const RENEW = new LuaScript(
  `${PRELUDE}
local worker, deadline = ARGV[5], now + tonumber(ARGV[6])
local lost, renew = {}, {}
for i = 7, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', healthPrefix .. id, 'workerId') == worker then
    renew[#renew + 1] = deadline
    renew[#renew + 1] = id
  else
    lost[#lost + 1] = id
  end
  if #renew >= 2000 then redis.call('ZADD', deadlines, unpack(renew)) renew = {} end
end
if #renew > 0 then redis.call('ZADD', deadlines, unpack(renew)) end
return lost`,
  COMMON_KEYS,
);

/**
 * ARGV[5] cameraId, ARGV[6] workerId, ARGV[7] status, ARGV[8] restart (0|1), ARGV[9] reason, ARGV[10] status
 * sequence (or ''), then field/value pairs. Applies only for the owner, so a worker that lost a camera never
 * overwrites its new owner's truth, and only if not older than the last report written. Returns 1 when
 * written (or dropped as stale), 0 when another worker owns the camera, -1 when nobody does.
 */
export const REPORT = new LuaScript(
  `${PRELUDE}
local id, worker, status = ARGV[5], ARGV[6], ARGV[7]
local key = healthPrefix .. id
local owner = redis.call('HGET', key, 'workerId')
if not owner or owner == '' then return -1 end
if owner ~= worker then return 0 end
if not fresh(key, ARGV[10]) then return 1 end
setStatus(id, key, redis.call('HGET', key, 'status'), status, ARGV[9])
if ARGV[8] == '1' then redis.call('HINCRBY', key, 'restarts', 1) end
if #ARGV > 10 then redis.call('HSET', key, unpack(ARGV, 11)) end
return 1`,
  COMMON_KEYS,
);

/**
 * ARGV[5] workerId, then per camera: id, status, status sequence (or ''), number of field/value strings, those
 * strings. A worker's
 * periodic reports, many in one call (one script call per camera cost a fifth of Redis's CPU at 62,000
 * cameras). Written only for the owner; returns the cameras another worker owns now.
 */
export const REPORT_MANY = new LuaScript(
  `${PRELUDE}
local worker, taken, i = ARGV[5], {}, 6
while i <= #ARGV do
  local id, status, seq, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local key = healthPrefix .. id
  local owner = redis.call('HGET', key, 'workerId')
  if owner == worker then
    if fresh(key, seq) then
      setStatus(id, key, redis.call('HGET', key, 'status'), status, '')
      if n > 0 then redis.call('HSET', key, unpack(ARGV, i + 4, i + 3 + n)) end
    end
  elseif owner and owner ~= '' then
    taken[#taken + 1] = id
  end
  i = i + 4 + n
end
return taken`,
  COMMON_KEYS,
);

/**
 * ARGV[5] cameraId, ARGV[6] workerId, ARGV[7] status ('offline': handed back, another worker should take it
 * within ARGV[9] ms; 'idle': nobody watches it), ARGV[8] reason. The owner lets go.
 */
export const RELEASE = new LuaScript(
  `${PRELUDE}
local id, worker, status, reason = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local key = healthPrefix .. id
if redis.call('HGET', key, 'workerId') ~= worker then return 0 end
setStatus(id, key, redis.call('HGET', key, 'status'), status, reason)
redis.call('HSET', key, 'workerId', '', 'lastError', reason, 'fps', '', 'bitrateKbps', '')
if status == 'idle' then redis.call('ZREM', deadlines, id)
else redis.call('ZADD', deadlines, now + tonumber(ARGV[9]), id) end
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
redis.call('ZREM', deadlines, id)
return old and 1 or 0`,
  COMMON_KEYS,
);

/**
 * KEYS[4] cameras. ARGV[5] limit. Cameras whose deadline passed: their owner stopped renewing, or no worker
 * took them. They become offline (making permanent what reads already show) and free; records of cameras
 * deleted behind our back go. Returns the ids of the cameras still registered, to be started again.
 */
export const SWEEP = new LuaScript(
  `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', deadlines, '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
local free = {}
for _, id in ipairs(ids) do
  local key = healthPrefix .. id
  local old = redis.call('HGET', key, 'status')
  if redis.call('HEXISTS', KEYS[4], id) == 0 then
    move(old or nil, nil)
    redis.call('DEL', key, historyPrefix .. id)
  else
    local worker = redis.call('HGET', key, 'workerId')
    local reason = 'no worker has taken this camera'
    if worker and worker ~= '' then reason = 'worker ' .. worker .. ' stopped renewing its lease' end
    if old ~= 'offline' and old ~= 'disabled' and old ~= 'idle' then
      setStatus(id, key, old or nil, 'offline', reason)
      redis.call('HSET', key, 'lastError', reason)
    end
    redis.call('HSET', key, 'workerId', '', 'fps', '', 'bitrateKbps', '')
    free[#free + 1] = id
  end
  redis.call('ZREM', deadlines, id)
end
return free`,
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

export const ALL_SCRIPTS = [REGISTER, CLAIM, RENEW, REPORT, REPORT_MANY, RELEASE, REMOVE, SWEEP, WORKER_BEAT];
