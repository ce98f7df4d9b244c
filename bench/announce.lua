-- wrk script: realistic announces. Info hashes from the pool file WL_BENCH_POOL (40-hex lines,
-- bench/gen_pool.py), random peer ids and ports, 50/50 seeders and leechers, ~5% started and
-- ~3% stopped events, compact, numwant 50. WL_BENCH_CLOSE=1 sends Connection: close (one
-- connection per request). Usage: WL_BENCH_POOL=pool.txt wrk -s bench/announce.lua URL
-- WL_BENCH_RATE=R (requests/s, for one wrk thread: run it with -t1) paces the requests: wrk's
-- delay() hook hands out send times from one schedule of R per second (monotonic clock through
-- LuaJIT's FFI), so whichever connection is free sends at the next slot. A schedule that falls
-- more than 100 ms behind restarts from now rather than bursting to catch up, so a server that
-- cannot keep up shows as an achieved rate below R. Latency is still measured from each send.
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

local rate = tonumber(os.getenv("WL_BENCH_RATE") or "")
if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } wl_bench_timespec;
  int clock_gettime(int clk, wl_bench_timespec *ts);
  ]]
  local ts = ffi.new("wl_bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local step, slot = 1000 / rate, nil
  function delay()
    local t = now_ms()
    if slot == nil or slot < t - 100 then slot = t end
    local d = slot - t
    slot = slot + step
    return d > 0 and math.floor(d + 0.5) or 0
  end
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

-- WL_BENCH_LIMIT=N ends wrk after N replies (the warm-up of bench/run.sh): the thread stops
-- and wrk gets SIGINT, which ends its sleep; -d is only a ceiling.
local limit = tonumber(os.getenv("WL_BENCH_LIMIT") or "")
if limit and limit > 0 then
  local ffi = require("ffi")
  pcall(ffi.cdef, "int kill(int pid, int sig); int getpid(void);")
  local replies, ended = 0, false
  function response(status, hdrs, body)
    replies = replies + 1
    if not ended and replies >= limit then
      ended = true
      wrk.thread:stop()
      ffi.C.kill(ffi.C.getpid(), 2)
    end
  end
end
