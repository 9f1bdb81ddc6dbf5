-- Renew of Warp's Redis store (store.Membership), atomically.
-- KEYS[1]: the cluster's members hash (see join.lua). ARGV: 1 node, 2 its
-- incarnation (20 digits), 3 the most fields a hash Join wrote can have
-- (the most members, plus the "" field).
-- Returns {1 if renewed else 0, {field, value, ...}} with every field of
-- the hash, the "" field of the largest incarnation included, or {6}
-- without renewing when the hash holds more fields than Join allows:
-- something else wrote it, and the reply is not read. inc comes from
-- prelude.lua.
local k, node = KEYS[1], ARGV[1]
if redis.call('HLEN', k) > tonumber(ARGV[3]) then return {6} end
local rec = redis.call('HGET', k, node)
local renewed = 0
if rec and string.sub(rec, 1, 20) == ARGV[2] then
  redis.call('HSET', k, node, ARGV[2] .. ':' .. inc(string.sub(rec, 22)))
  renewed = 1
end
return {renewed, redis.call('HGETALL', k)}
