-- Expel and Leave of Warp's Redis store (store.Membership), atomically.
-- KEYS[1]: the cluster's members hash (see join.lua). ARGV: 1 node, 2 what
-- its record must start with: "<incarnation>:<counter>" for Expel,
-- "<incarnation>" for Leave (20 digits each).
-- Returns 1 if it removed the record, else 0.
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if rec and string.sub(rec, 1, #ARGV[2]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
