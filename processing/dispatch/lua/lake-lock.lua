-- The lake's rewriters take turns (processing/forget/lake-lock.ts): `capline forget` holds the lake
-- alone ("exclusive"), compactions may hold it together ("shared"). A sorted set of holders,
-- member "<mode>|<holder>", score = when the holding lapses (ms, Redis's clock): a holder killed
-- without releasing lapses after its time to live.
-- KEYS[1]  the holders (a sorted set)
-- ARGV[1]  acquire | renew | release
-- ARGV[2]  the member
-- ARGV[3]  time to live, ms
-- acquire returns "ok", or the member in the way; renew returns 1 (0: the holding had lapsed);
-- release returns 1.
local key = KEYS[1]
local op = ARGV[1]
local member = ARGV[2]
local ttl = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if op == 'release' then
  redis.call('ZREM', key, member)
  return 1
end
if op == 'renew' then
  if not redis.call('ZSCORE', key, member) then return 0 end
else
  local shared = string.sub(member, 1, 7) == 'shared|'
  for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if not shared or string.sub(other, 1, 7) ~= 'shared|' then return other end
  end
end
redis.call('ZADD', key, now + ttl, member)
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', key, last[2])
if op == 'renew' then return 1 end
return 'ok'
