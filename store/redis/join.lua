-- Join of Warp's Redis store (store.Membership), atomically.
-- KEYS[1]: the cluster's members hash: one field per member, node ->
-- "<incarnation>:<counter>" (20 digits each), and the field "" holding the
-- largest incarnation issued. ARGV: 1 node, 2 min incarnation, 3 the
-- largest incarnation allowed (20 digits each), 4 the most members.
-- Returns {0, incarnation}, {3} when incarnations are exhausted, {5} when
-- the cluster is full. ZERO and inc come from prelude.lua.
local k, node = KEYS[1], ARGV[1]
local top = redis.call('HGET', k, '')
if top and top >= ARGV[3] then return {3} end
if redis.call('HEXISTS', k, node) == 0 then
  local n = redis.call('HLEN', k)
  if top then n = n - 1 end
  if n >= tonumber(ARGV[4]) then return {5} end
end
local nv = inc(top or ZERO)
if ARGV[2] > nv then nv = ARGV[2] end
redis.call('HSET', k, '', nv, node, nv .. ':' .. ZERO)
return {0, nv}
