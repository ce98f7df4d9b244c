-- wrk script for the memory phase: deterministic announces that load WL_BENCH_MEM_SWARMS swarms
-- (the first lines of the pool file WL_BENCH_POOL) with WL_BENCH_MEM_PEERS peers each. Request k
-- (0-based) is peer j = k // swarms of swarm i = k % swarms, so the swarms fill evenly. Peer
-- (i, j): peer_id "-WB0001-" .. k as 12 digits, port 1025 + k % 64000 (distinct inside a swarm:
-- both trackers key a peer by address and port, and every request comes from 127.0.0.1),
-- seeder when j is even, event=started, compact, numwant 50. WL_BENCH_CLOSE=1 sends
-- Connection: close.
-- Run it with -t1 (one Lua state, one counter) and WL_BENCH_CONNS set to wrk's -c. Once every
-- peer has been generated, further requests repeat the last one (an idempotent re-announce of
-- the same peer). When the replies reach swarms x peers + connections (every connection has had
-- a reply after the last new peer went out), the script ends wrk itself: it stops its thread
-- and sends wrk SIGINT, which ends wrk's sleep; -d is only a ceiling. done() prints
-- "memory.lua: generated G replies R non-2xx E" (G counts new peers sent).
-- Usage: WL_BENCH_POOL=pool.txt WL_BENCH_MEM_SWARMS=100000 WL_BENCH_MEM_PEERS=10 \
--        WL_BENCH_CONNS=64 wrk -t1 -c64 -d900s -s bench/memory.lua URL
local swarms = tonumber(os.getenv("WL_BENCH_MEM_SWARMS") or "100000")
local peers = tonumber(os.getenv("WL_BENCH_MEM_PEERS") or "10")
local conns = tonumber(os.getenv("WL_BENCH_CONNS") or "64")
local close = os.getenv("WL_BENCH_CLOSE") == "1"
local total = swarms * peers
local headers = close and { Connection = "close" } or nil
local pool = {}
local last = nil
local first = true
local ended = false
-- globals: read from the main Lua state by done() through thread:get
generated, replies, bad = 0, 0, 0

local ffi = require("ffi")
ffi.cdef [[
int kill(int pid, int sig);
int getpid(void);
]]

local function hex_to_pct(h)
  return (h:gsub("..", function(b) return "%" .. b:upper() end))
end

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("WL_BENCH_POOL") or "pool.txt") do
    pool[#pool + 1] = hex_to_pct(line)
    if #pool == swarms then break end
  end
  if #pool < swarms then error("memory.lua: pool has " .. #pool .. " hashes, need " .. swarms) end
end

local function make(k)
  local i, j = k % swarms, math.floor(k / swarms)
  local left = (j % 2 == 0) and 0 or 1000000
  return wrk.format("GET", "/announce?info_hash=" .. pool[i + 1] ..
    "&peer_id=-WB0001-" .. string.format("%012d", k) .. "&port=" .. (1025 + k % 64000) ..
    "&uploaded=0&downloaded=0&left=" .. left .. "&compact=1&numwant=50&event=started", headers)
end

function request()
  -- wrk calls request() once before the run to check the request (script_verify_request):
  -- that first call does not advance the walk (on a wrk that skips the check, peer 0 goes twice)
  if first then
    first = false
    return make(0)
  end
  if generated < total then
    last = make(generated)
    generated = generated + 1
  end
  return last
end

function response(status, hdrs, body)
  replies = replies + 1
  if status < 200 or status > 299 then bad = bad + 1 end
  if not ended and replies >= total + conns then
    ended = true
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2)
  end
end

function done(summary, latency, requests)
  local g, r, b = 0, 0, 0
  for _, t in ipairs(threads) do
    g, r, b = g + t:get("generated"), r + t:get("replies"), b + t:get("bad")
  end
  io.write(string.format("memory.lua: generated %d replies %d non-2xx %d\n", g, r, b))
end
