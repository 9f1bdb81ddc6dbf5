-- The prelude of Warp's Redis store scripts: scripts.go puts it in front of
-- write.lua, commit.lua, join.lua and renew.lua, with MAXV set to
-- merge.MaxVersion. Versions, tokens, incarnations and counters are
-- 20-digit decimal strings, which compare as numbers do (Lua's numbers are
-- doubles, which cannot hold them).
local ZERO, MAXV = '00000000000000000000', 'MAXVERSION'
-- inc returns the 20-digit s plus 1.
local function inc(s)
  local hi, lo = tonumber(string.sub(s, 1, 10)), tonumber(string.sub(s, 11, 20)) + 1
  if lo == 10000000000 then hi, lo = hi + 1, 0 end
  return string.format('%010d%010d', hi, lo)
end
