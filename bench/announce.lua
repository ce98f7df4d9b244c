-- wrk script: realistic announces. Random 20-byte info hashes from a pool (WL_BENCH_SWARMS,
-- default 1000), random peer ids and ports, 50/50 seeders and leechers, some started/stopped
-- events, compact, numwant 50. Usage: wrk -s bench/announce.lua http://host:port
local swarms = tonumber(os.getenv("WL_BENCH_SWARMS") or "1000")
local pool = {}

local function pct(bytes)
  return (bytes:gsub(".", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function rand_bytes(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(0, 255)) end
  return table.concat(t)
end

function init(args)
  math.randomseed(os.time() + math.random(1, 1e6))
  -- the same pool in every thread: seed a generator with a fixed value
  local saved = math.random(1, 1e9)
  math.randomseed(12345)
  for i = 1, swarms do pool[i] = pct(rand_bytes(20)) end
  math.randomseed(saved)
end

function request()
  local h = pool[math.random(1, swarms)]
  local left = (math.random() < 0.5) and 0 or math.random(1, 1e9)
  local r = math.random()
  local event = ""
  if r < 0.05 then event = "&event=started" elseif r < 0.08 then event = "&event=stopped" end
  local path = "/announce?info_hash=" .. h .. "&peer_id=" .. pct(rand_bytes(20)) ..
    "&port=" .. math.random(1024, 65535) .. "&uploaded=0&downloaded=0&left=" .. left ..
    "&compact=1&numwant=50" .. event
  return wrk.format("GET", path)
end
