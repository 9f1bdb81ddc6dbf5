-- Renew of Warp's Redis store (store.Membership), atomically.
-- KEYS[1]: the cluster's members hash (see join.lua). ARGV: 1 node, 2 its
-- incarnation (20 digits).
-- Returns {1 if renewed else 0, {field, value, ...}} with every field of
-- the hash, the "" field of the largest incarnation included. inc comes
-- from prelude.lua.
local k, node = KEYS[1], ARGV[1]
local rec = redis.call('HGET', k, node)
local renewed = 0
if rec and string.sub(rec, 1, 20) == ARGV[2] then
  redis.call('HSET', k, node, ARGV[2] .. ':' .. inc(string.sub(rec, 22)))
  renewed = 1
end
return {renewed, redis.call('HGETALL', k)}
