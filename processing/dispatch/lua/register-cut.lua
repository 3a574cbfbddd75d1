-- Registers a cut [first, last] of one partition unless another cut overlaps it
-- (processing/dispatch/cut-registry.ts).
-- KEYS[1]  the partition's cut registry (a hash: first offset -> last offset)
-- ARGV[1]  first offset of the cut
-- ARGV[2]  last offset of the cut
-- Returns 1 when the cut is registered (or already was, the same), 0 when it overlaps another.
local all = redis.call('HGETALL', KEYS[1])
local a = tonumber(ARGV[1])
local b = tonumber(ARGV[2])
for i = 1, #all, 2 do
  local f = tonumber(all[i])
  local l = tonumber(all[i + 1])
  if f == a and l == b then return 1 end
  if f <= b and a <= l then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
