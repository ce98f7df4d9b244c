/* Redis key layout and the few Lua scripts left. All of a swarm's keys share one hash tag, so a
 * swarm lives in one slot; H is the 20-byte info hash itself, raw (27-byte key names: binary
 * names save ~8 bytes per swarm key, and the sweep's index stores 20 bytes instead of 40):
 *   wl:{H}:s  sorted set of seeders   member = packed address (6 or 18 bytes), score = time
 *   wl:{H}:l  sorted set of leechers
 *   wl:{H}:u  hash member -> "uploaded:downloaded" last reported (passkey users only)
 *   wl:{H}:d  completions counter
 *   wl:{H}:c<member>  a peer's completion, counted (expires with the swarm's keys' TTL)
 * Global: wl:g (hash: peers, swarms), wl:user:<id> (hash: uploaded, downloaded), and
 * wl:swarms, the sweep's index: a sorted set of live swarms H -> a time no later than the last
 * announce. An announce adds a swarm when it makes it live; the sweep visits each entry once
 * it is a peer TTL old, trims the swarm and moves the entry to its newest peer's time (or
 * drops it with the empty swarm). So the index costs announces nothing after a swarm's
 * creation: a ZADD into a big sorted set was ~4 µs, paid on every touch when touches set it.
 * No peer ids are kept (API.md: "where the tracker keeps it"): they were 44 of the 114 bytes a
 * peer cost in Redis. Releases before this layout used 40-character hex names and a wl:{HEX}:p
 * hash of peer ids; the sweep still understands them, so such keys drain on their own.
 * The announce itself is plain commands in a MULTI/EXEC (swarm_redis.c): a script costs ~1.2 µs
 * per redis.call on top of the commands. The global keys make the transaction and the scripts
 * cross-slot: Weightless runs one Redis primary (with replicas and Sentinel), not Redis Cluster. */
#include "scripts.h"

/* Per-user accounting of one passkey announce, called inside the announce's transaction after
 * the peer's own write. KEYS: u, wl:user:<id>, s, l. ARGV: member, uploaded, downloaded, event
 * (0 none, 1 started, 2 completed, 3 stopped), keyttl, touch.
 * Credits the deltas between this peer's successive announces (a started announce begins a new
 * session); on touch (once per touch interval per swarm per worker) also forgets the counters
 * of peers that have left the swarm. */
const char wl_lua_account[] =
    "local u, uk, s, l = KEYS[1], KEYS[2], KEYS[3], KEYS[4]\n"
    "local member, up, down = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local event, keyttl, touch = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'\n"
    "local prev = redis.call('HGET', u, member)\n"
    "local du, dd = up, down\n"
    "if prev and event ~= 1 then\n"
    "  local pu, pd = string.match(prev, '^(%d+):(%d+)$')\n"
    "  pu, pd = tonumber(pu), tonumber(pd)\n"
    "  if up >= pu then du = up - pu end\n"
    "  if down >= pd then dd = down - pd end\n"
    "end\n"
    "if du > 0 then redis.call('HINCRBY', uk, 'uploaded', du) end\n"
    "if dd > 0 then redis.call('HINCRBY', uk, 'downloaded', dd) end\n"
    "if du > 0 or dd > 0 or not prev then redis.call('HSETNX', uk, 'uploaded', 0); redis.call('HSETNX', uk, 'downloaded', 0) end\n"
    "if event == 3 then redis.call('HDEL', u, member) else redis.call('HSET', u, member, string.format('%d:%d', up, down)); redis.call('EXPIRE', u, keyttl) end\n"
    "if touch and redis.call('HLEN', u) > redis.call('ZCARD', s) + redis.call('ZCARD', l) then\n"
    "  for _, m in ipairs(redis.call('HKEYS', u)) do\n"
    "    if not redis.call('ZSCORE', s, m) and not redis.call('ZSCORE', l, m) then redis.call('HDEL', u, m) end\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* One completion per peer and swarm: a client that sends `completed` again (a retry after a
 * timeout) or an announce that ran twice (the gateway resends a request a worker has not
 * answered in 2 s to another worker; the first may still run it) counts once while the mark
 * lives. KEYS: d, the peer's mark. ARGV: the mark's TTL. Returns the completions. Only
 * `completed` announces run it, so its cost stays off the hot path. */
const char wl_lua_complete[] =
    "if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return redis.call('INCR', KEYS[1]) end\n"
    "return tonumber(redis.call('GET', KEYS[1]) or '0')\n";

/* Bounded incremental sweep: swarms idle longer than the peer TTL lose their expired peers (and
 * the global counters with them); empty ones leave the index. ARGV: now, ttl, max swarms per
 * call. A 40-byte member is a swarm of the old hex layout (with its peer-id hash). Returns
 * swarms visited. */
const char wl_lua_sweep[] =
    "local g, sw = KEYS[1], KEYS[2]\n"
    "local now, ttl, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local cutoff = now - ttl\n"
    "local idle = redis.call('ZRANGEBYSCORE', sw, '-inf', '(' .. cutoff, 'LIMIT', 0, max)\n"
    "for _, h in ipairs(idle) do\n"
    "  local b = 'wl:{' .. h .. '}:'\n"
    "  local s, l, p, u = b .. 's', b .. 'l', b .. 'p', b .. 'u'\n"
    "  local legacy = #h == 40\n"
    "  local n0 = redis.call('ZCARD', s) + redis.call('ZCARD', l)\n"
    "  for _, k in ipairs({s, l}) do\n"
    "    local gone = redis.call('ZRANGEBYSCORE', k, '-inf', '(' .. cutoff)\n"
    "    for i = 1, #gone do\n"
    "      redis.call('ZREM', k, gone[i]); redis.call('HDEL', u, gone[i])\n"
    "      if legacy then redis.call('HDEL', p, gone[i]) end\n"
    "    end\n"
    "  end\n"
    "  local n1 = redis.call('ZCARD', s) + redis.call('ZCARD', l)\n"
    "  if n1 ~= n0 then redis.call('HINCRBY', g, 'peers', n1 - n0) end\n"
    "  if n1 == 0 then\n"
    "    if n0 > 0 then redis.call('HINCRBY', g, 'swarms', -1) end\n"
    "    redis.call('ZREM', sw, h); redis.call('DEL', u)\n"
    "    if legacy then redis.call('DEL', p) end\n"
    "  else\n"
    "    local newest = math.max(tonumber((redis.call('ZRANGE', s, -1, -1, 'WITHSCORES'))[2] or 0), tonumber((redis.call('ZRANGE', l, -1, -1, 'WITHSCORES'))[2] or 0))\n"
    "    redis.call('ZADD', sw, newest, h)\n"
    "  end\n"
    "end\n"
    "return #idle\n";

/* Drops every peer of one swarm (its hash was blocked). KEYS: s, l, u, g, sw; ARGV: H. */
const char wl_lua_drop[] =
    "local n0 = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])\n"
    "redis.call('ZREM', KEYS[5], ARGV[1])\n"
    "if n0 > 0 then redis.call('HINCRBY', KEYS[4], 'peers', -n0); redis.call('HINCRBY', KEYS[4], 'swarms', -1) end\n"
    "return n0\n";
