-- Marks the events of one range in its partition's seen-set (processing/dispatch/seen-set.ts):
-- event id -> offset of its first occurrence, set if absent. An event is a duplicate when the
-- offset recorded for its id is not its own, so a replay or a redelivery of the same offsets
-- decides exactly as the first pass did.
--
-- Layout: per UTC event day, a linear-hashing table of small hashes (listpack-encoded while they
-- hold at most hash-max-listpack-entries fields, 128 by default): bucket keys are
-- <prefix>:<day>:<bucket>; the meta hash holds `since` (the first offset the seen-set saw),
-- `newest` (newest event day) and per day `d<day>` = "<ids> <level> <split pointer>".
-- Ids are 12 bytes; the bucket of an id is given by its first 4 bytes (big-endian).
--
-- KEYS[1]  the partition's meta hash
-- ARGV[1]  the partition's seen-set key prefix
-- ARGV[2]  horizon in days (0: unbounded): days more than this before the newest are dropped
-- ARGV[3]  load: a day's table splits a bucket while it holds more ids than load x buckets
-- ARGV[4]  the range's first offset (recorded as `since` when the seen-set starts here)
-- ARGV[5]  number of day groups; then per group: day, n, ids (n x 12 bytes), then n offsets
-- Returns { started (1 when the seen-set started with this call), events beyond the horizon,
--           offsets of the duplicates... }
local meta = KEYS[1]
local prefix = ARGV[1]
local horizon = tonumber(ARGV[2])
local load = tonumber(ARGV[3])
local groups = tonumber(ARGV[5])

local started = redis.call('HSETNX', meta, 'since', ARGV[4])

local function hashOf(id)
  local b1, b2, b3, b4 = string.byte(id, 1, 4)
  return ((b1 * 256 + b2) * 256 + b3) * 256 + b4
end

local function bucketOf(h, st)
  local m = 2 ^ st.level
  local b = h % m
  if b < st.split then b = h % (2 * m) end
  return b
end

local function bucketKey(day, b)
  return prefix .. ':' .. day .. ':' .. string.format('%d', b)
end

local function readState(day)
  local raw = redis.call('HGET', meta, 'd' .. day)
  if not raw then return { n = 0, level = 0, split = 0 } end
  local n, level, split = string.match(raw, '^(%d+) (%d+) (%d+)$')
  return { n = tonumber(n), level = tonumber(level), split = tonumber(split) }
end

local function writeState(day, st)
  redis.call('HSET', meta, 'd' .. day, string.format('%d %d %d', st.n, st.level, st.split))
end

-- Linear hashing: split the bucket at the split pointer into itself and its image.
local function splitOne(day, st)
  local m = 2 ^ st.level
  local from = bucketKey(day, st.split)
  local entries = redis.call('HGETALL', from)
  local fields, pairs_ = {}, {}
  for k = 1, #entries, 2 do
    if hashOf(entries[k]) % (2 * m) ~= st.split then
      fields[#fields + 1] = entries[k]
      pairs_[#pairs_ + 1] = entries[k]
      pairs_[#pairs_ + 1] = entries[k + 1]
    end
  end
  if #fields > 0 then
    redis.call('HDEL', from, unpack(fields))
    redis.call('HSET', bucketKey(day, st.split + m), unpack(pairs_))
  end
  st.split = st.split + 1
  if st.split == m then
    st.level = st.level + 1
    st.split = 0
  end
end

-- The newest event day, and the days that fell out of the horizon.
local newest = tonumber(redis.call('HGET', meta, 'newest') or '')
local maxDay = newest
local j = 6
for _ = 1, groups do
  local day = tonumber(ARGV[j])
  if maxDay == nil or day > maxDay then maxDay = day end
  j = j + 3 + tonumber(ARGV[j + 1])
end
if maxDay ~= nil and maxDay ~= newest then
  redis.call('HSET', meta, 'newest', string.format('%d', maxDay))
  if horizon > 0 then
    local all = redis.call('HGETALL', meta)
    for k = 1, #all, 2 do
      local day = string.match(all[k], '^d(-?%d+)$')
      if day and tonumber(day) <= maxDay - horizon then
        local st = readState(day)
        local count = 2 ^ st.level + st.split
        local keys = {}
        for b = 0, count - 1 do
          keys[#keys + 1] = bucketKey(day, b)
          if #keys == 1000 then
            redis.call('UNLINK', unpack(keys))
            keys = {}
          end
        end
        if #keys > 0 then redis.call('UNLINK', unpack(keys)) end
        redis.call('HDEL', meta, all[k])
      end
    end
  end
end

-- Per day: split first for the ids that may arrive, so that bucket addresses do not move while
-- the ids are written (one HSETNX per event, in offset order: a repeat inside the range finds its
-- first occurrence); bucket names are built once per call.
local result = { started, 0 }
local i = 6
for _ = 1, groups do
  local day = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  local blob = ARGV[i + 2]
  if horizon > 0 and tonumber(day) <= maxDay - horizon then
    result[2] = result[2] + n
  else
    local st = readState(day)
    while st.n + n > load * (2 ^ st.level + st.split) do splitOne(day, st) end
    local m = 2 ^ st.level
    local m2 = 2 * m
    local split = st.split
    local keys = {}
    local added = 0
    local base = day .. ':'
    for k = 1, n do
      local id = string.sub(blob, k * 12 - 11, k * 12)
      local b1, b2, b3, b4 = string.byte(id, 1, 4)
      local h = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
      local b = h % m
      if b < split then b = h % m2 end
      local key = keys[b]
      if not key then
        key = prefix .. ':' .. base .. string.format('%d', b)
        keys[b] = key
      end
      local offset = ARGV[i + 2 + k]
      if redis.call('HSETNX', key, id, offset) == 1 then
        added = added + 1
      elseif redis.call('HGET', key, id) ~= offset then
        result[#result + 1] = offset
      end
    end
    st.n = st.n + added
    writeState(day, st)
  end
  i = i + 3 + n
end
return result
