-- wrk script: realistic announces. Info hashes from the pool file WL_BENCH_POOL (40-hex lines,
-- bench/gen_pool.py), random peer ids and ports, 50/50 seeders and leechers, ~5% started and
-- ~3% stopped events, compact, numwant 50. WL_BENCH_CLOSE=1 sends Connection: close (one
-- connection per request). Usage: WL_BENCH_POOL=pool.txt wrk -s bench/announce.lua URL
local pool = {}
local close = os.getenv("WL_BENCH_CLOSE") == "1"
local mode = os.getenv("WL_BENCH_MODE") or "announce"

local function hex_to_pct(h)
  return (h:gsub("..", function(b) return "%" .. b:upper() end))
end

local function rand_pct(n)
  local t = {}
  for i = 1, n do t[i] = string.format("%%%02X", math.random(0, 255)) end
  return table.concat(t)
end

function init(args)
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6) + math.random(1, 1e6))
  for line in io.lines(os.getenv("WL_BENCH_POOL") or "pool.txt") do
    pool[#pool + 1] = hex_to_pct(line)
  end
end

function request()
  local h = pool[math.random(1, #pool)]
  local headers = close and { Connection = "close" } or nil
  if mode == "scrape" then
    return wrk.format("GET", "/scrape?info_hash=" .. h, headers)
  end
  local left = (math.random() < 0.5) and 0 or math.random(1, 1e9)
  local r = math.random()
  local event = ""
  if r < 0.05 then event = "&event=started" elseif r < 0.08 then event = "&event=stopped" end
  local path = "/announce?info_hash=" .. h .. "&peer_id=" .. rand_pct(20) ..
    "&port=" .. math.random(1024, 65535) .. "&uploaded=0&downloaded=0&left=" .. left ..
    "&compact=1&numwant=50" .. event
  return wrk.format("GET", path, headers)
end
