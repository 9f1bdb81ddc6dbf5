-- One Set or Delete of Warp's Redis store, atomically.
-- KEYS[1]: the key's hash; KEYS[2], for a guarded write only: the members
-- hash of the guard's cluster. ARGV: 1 kind ("s" set, "d" delete), 2 value,
-- 3 min version, 4 check ("1"/"0"), 5 if-version, 6 fencing token (versions
-- and tokens as 20-digit decimal strings, compared as strings since Lua
-- numbers are doubles), 7 write id, and for a guarded write 8 the guard's
-- node, 9 its incarnation (20 digits).
-- Returns the version written (a bare string, the cheapest reply to make
-- and to read), or on a failure {1, stored version} on a conflict, {2, stored
-- token} when fenced, {3} when the version would pass merge.MaxVersion,
-- {4} when the guard's node holds no record under its incarnation.
-- ZERO, MAXV and inc come from prelude.lua.
local k = KEYS[1]
local cur = redis.call('HMGET', k, 'ver', 'f', 'w')
local ver, fence = cur[1] or ZERO, cur[2] or ZERO
if cur[3] == ARGV[7] then return ver end -- a client's retry of a write that applied
if KEYS[2] then
  local rec = redis.call('HGET', KEYS[2], ARGV[8])
  if not rec or string.sub(rec, 1, 20) ~= ARGV[9] then return {4} end
end
if ARGV[4] == '1' and ver ~= ARGV[5] then return {1, ver} end
if ARGV[6] ~= ZERO and ARGV[6] < fence then return {2, fence} end
if ver >= MAXV then return {3} end
local nv = inc(ver)
if ARGV[3] > nv then nv = ARGV[3] end
if ARGV[6] > fence then fence = ARGV[6] end
if ARGV[1] == 'd' then
  redis.call('HSET', k, 'ver', nv, 'f', fence, 'd', '1', 'w', ARGV[7])
  redis.call('HDEL', k, 'v')
else
  redis.call('HSET', k, 'v', ARGV[2], 'ver', nv, 'f', fence, 'd', '0', 'w', ARGV[7])
end
return nv
