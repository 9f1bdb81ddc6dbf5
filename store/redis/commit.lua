-- A Commit of Warp's Redis store: every op or none, atomically.
-- KEYS: the distinct hashes of the ops' keys and the members hashes of
-- their guards, in the order the ops name them. ARGV: 1 write id, 2 op
-- count, 3 index in KEYS of the first written key (0: none), then 10 per
-- op: kind ("s", "d", "c" check), index in KEYS, value, min, check,
-- if-version, token (as in write.lua), index in KEYS of the guard's
-- members hash (0: unguarded), the guard's node and incarnation.
-- Returns {0, version...}, or {1, op, stored version}, {2, op, stored
-- token}, {3, op}, {4, op} as write.lua does for the op that failed.
-- ZERO, MAXV and inc come from prelude.lua.
local id, n, first = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local st = {}
for i = 1, n do
  local x = tonumber(ARGV[3 + (i - 1) * 10 + 2])
  if not st[x] then
    local cur = redis.call('HMGET', KEYS[x], 'ver', 'f', 'w', 'wr')
    st[x] = {ver = cur[1] or ZERO, f = cur[2] or ZERO, w = cur[3], wr = cur[4]}
  end
end
if first > 0 and st[first].w == id and st[first].wr then
  -- a client's retry of a commit that applied: return its result
  local out = {0}
  for v in string.gmatch(st[first].wr, '[^,]+') do out[#out + 1] = v end
  return out
end
local out = {}
for i = 1, n do
  local b = 3 + (i - 1) * 10
  local kind, s = ARGV[b + 1], st[tonumber(ARGV[b + 2])]
  local min, chk, ifv, fence = ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7]
  local g = tonumber(ARGV[b + 8])
  if g > 0 then
    local rec = redis.call('HGET', KEYS[g], ARGV[b + 9])
    if not rec or string.sub(rec, 1, 20) ~= ARGV[b + 10] then return {4, i} end
  end
  if (chk == '1' or kind == 'c') and s.ver ~= ifv then return {1, i, s.ver} end
  if fence ~= ZERO and fence < s.f then return {2, i, s.f} end
  if kind == 'c' then
    out[i] = s.ver
  else
    if s.ver >= MAXV then return {3, i} end
    local nv = inc(s.ver)
    if min > nv then nv = min end
    if fence > s.f then s.f = fence end
    s.ver, s.del, s.v, s.touched = nv, kind == 'd', ARGV[b + 3], true
    out[i] = nv
  end
end
for x, s in pairs(st) do
  if s.touched then
    if s.del then
      redis.call('HSET', KEYS[x], 'ver', s.ver, 'f', s.f, 'd', '1', 'w', id)
      redis.call('HDEL', KEYS[x], 'v')
    else
      redis.call('HSET', KEYS[x], 'v', s.v, 'ver', s.ver, 'f', s.f, 'd', '0', 'w', id)
    end
  end
end
if first > 0 then redis.call('HSET', KEYS[first], 'wr', table.concat(out, ',')) end
table.insert(out, 1, 0)
return out
