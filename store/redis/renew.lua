-- Renew of Warp's Redis store (store.Membership), atomically.
-- KEYS[1]: the cluster's members hash (see join.lua). ARGV: 1 node, 2 its
-- incarnation (20 digits).
-- Returns {1 if renewed else 0, {field, value, ...}} with every field of
-- the hash, the "" field of the largest incarnation included.
local k, node = KEYS[1], ARGV[1]
local rec = redis.call('HGET', k, node)
local renewed = 0
if rec and string.sub(rec, 1, 20) == ARGV[2] then
  local c = string.sub(rec, 22)
  local hi, lo = tonumber(string.sub(c, 1, 10)), tonumber(string.sub(c, 11, 20)) + 1
  if lo == 10000000000 then hi, lo = hi + 1, 0 end
  redis.call('HSET', k, node, ARGV[2] .. ':' .. string.format('%010d%010d', hi, lo))
  renewed = 1
end
return {renewed, redis.call('HGETALL', k)}
