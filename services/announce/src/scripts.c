/* Lua scripts run inside Redis, one call per announce (EVALSHA; on NOSCRIPT the worker
 * reloads them). Key layout, all per swarm under one hash tag so a swarm lives in one slot:
 *   wl:{HEX}:s  sorted set of seeders   member = packed address (6 or 18 bytes), score = time
 *   wl:{HEX}:l  sorted set of leechers
 *   wl:{HEX}:p  hash member -> peer_id (for non-compact answers)
 *   wl:{HEX}:u  hash member -> "uploaded:downloaded" last reported (passkey users only)
 *   wl:{HEX}:d  completions counter
 * Global: wl:g (hash: peers, swarms), wl:swarms (sorted set: hex hash -> last announce time,
 * what the sweep walks), wl:user:<id> (hash: uploaded, downloaded).
 * The global keys make these scripts cross-slot: Weightless runs one Redis primary (with
 * replicas and Sentinel), not Redis Cluster. */
#include "scripts.h"

/* One announce. ARGV: member, peer_id, now, ttl, keyttl, seeder, event (0 none, 1 started,
 * 2 completed, 3 stopped), want, wantids, hex, user, uploaded, downloaded, touch, k.
 * Writes only what changed: a peer already in its set costs one ZADD. touch=1 (the worker asks
 * for it at most once per swarm per touch interval, see peer_sample.h) also refreshes the TTLs
 * of all the swarm's keys and the sweep's index and trims expired peers (not in a new swarm).
 * want > 0 asks for peers: when the whole swarm has at most want peers, all of them (the
 * requester's answer is exact); else a random sample of up to k >= want per set (sampled=1: the answer is a random subset anyway,
 * and the worker may keep the sample for the swarm's next announces). A seeder's answer holds
 * leechers only, so a small swarm's seeders are not read for it.
 * Returns {seeders, leechers, completions, seeder list, leecher list, peer ids of both lists
 * (wantids), Redis TIME in µs, sampled}. The global peer/swarm counters move by what changed. */
const char wl_lua_announce[] =
    "local s, l, p, d, u = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]\n"
    "local g, sw = KEYS[6], KEYS[7]\n"
    "local member, pid = ARGV[1], ARGV[2]\n"
    "local now, ttl, keyttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local seeder, event, want = ARGV[6] == '1', tonumber(ARGV[7]), tonumber(ARGV[8])\n"
    "local wantids, hex = ARGV[9] == '1', ARGV[10]\n"
    "local user, up, down = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])\n"
    "local touch, k = ARGV[14] == '1', tonumber(ARGV[15])\n"
    "local dpeers = 0\n"
    /* per-user accounting from deltas between this peer's successive announces */
    "if user ~= '' then\n"
    "  local prev = redis.call('HGET', u, member)\n"
    "  local du, dd = up, down\n"
    "  if prev and event ~= 1 then\n"
    "    local pu, pd = string.match(prev, '^(%d+):(%d+)$')\n"
    "    pu, pd = tonumber(pu), tonumber(pd)\n"
    "    if up >= pu then du = up - pu end\n"
    "    if down >= pd then dd = down - pd end\n"
    "  end\n"
    "  if du > 0 then redis.call('HINCRBY', 'wl:user:' .. user, 'uploaded', du) end\n"
    "  if dd > 0 then redis.call('HINCRBY', 'wl:user:' .. user, 'downloaded', dd) end\n"
    "  if du > 0 or dd > 0 or not prev then redis.call('HSETNX', 'wl:user:' .. user, 'uploaded', 0); redis.call('HSETNX', 'wl:user:' .. user, 'downloaded', 0) end\n"
    "  if event == 3 then redis.call('HDEL', u, member) else redis.call('HSET', u, member, string.format('%d:%d', up, down)); redis.call('EXPIRE', u, keyttl) end\n"
    "end\n"
    "if event == 3 then\n"
    "  dpeers = dpeers - redis.call('ZREM', s, member) - redis.call('ZREM', l, member)\n"
    "  redis.call('HDEL', p, member)\n"
    "else\n"
    "  local mine, other = l, s\n"
    "  if seeder then mine, other = s, l end\n"
    /* a member is in one set at most: only a new member of this set can be in the other */
    "  local added = redis.call('ZADD', mine, now, member)\n"
    "  if added == 1 then dpeers = dpeers + 1 - redis.call('ZREM', other, member) end\n"
    "  if added == 1 or event == 1 then redis.call('HSET', p, member, pid) end\n"
    "  if event == 2 and seeder then redis.call('INCR', d) end\n"
    "end\n"
    "local ns, nl = redis.call('ZCARD', s), redis.call('ZCARD', l)\n"
    "local n0 = ns + nl - dpeers\n"
    /* expired peers go on touch (a new swarm has none), only when the oldest one is expired */
    "if touch and n0 > 0 then\n"
    "  local cutoff, trimmed = now - ttl, 0\n"
    "  for _, key in ipairs({s, l}) do\n"
    "    local o = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')\n"
    "    if o[2] and tonumber(o[2]) < cutoff then\n"
    "      local gone = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. cutoff, 'LIMIT', 0, 1000)\n"
    "      for i = 1, #gone do redis.call('ZREM', key, gone[i]); redis.call('HDEL', p, gone[i]); redis.call('HDEL', u, gone[i]) end\n"
    "      trimmed = trimmed + #gone\n"
    "    end\n"
    "  end\n"
    "  if trimmed > 0 then dpeers = dpeers - trimmed; ns, nl = redis.call('ZCARD', s), redis.call('ZCARD', l) end\n"
    "end\n"
    "local n1 = ns + nl\n"
    /* a key is given its TTL when this call created it (its only member is this peer); every
     * key of a live swarm is refreshed on touch, at least once per touch interval */
    "if touch then\n"
    "  redis.call('EXPIRE', s, keyttl); redis.call('EXPIRE', l, keyttl); redis.call('EXPIRE', p, keyttl)\n"
    "elseif event ~= 3 then\n"
    "  if (seeder and ns == 1) or (not seeder and nl == 1) then redis.call('EXPIRE', seeder and s or l, keyttl) end\n"
    "  if n1 == 1 then redis.call('EXPIRE', p, keyttl) end\n"
    "end\n"
    "if dpeers ~= 0 then redis.call('HINCRBY', g, 'peers', dpeers) end\n"
    "if n0 == 0 and n1 > 0 then redis.call('HINCRBY', g, 'swarms', 1) end\n"
    "if n0 > 0 and n1 == 0 then redis.call('HINCRBY', g, 'swarms', -1); redis.call('ZREM', sw, hex) end\n"
    "if n1 > 0 and (touch or n0 == 0) then redis.call('ZADD', sw, now, hex) end\n"
    "local done = tonumber(redis.call('GET', d) or '0')\n"
    "if done > 0 and (touch or event == 2) then redis.call('EXPIRE', d, keyttl * 4) end\n"
    "local sl, ll, ids, sampled = {}, {}, {}, 0\n"
    "if event ~= 3 and want > 0 then\n"
    "  if ns + nl > want then sampled = 1 end\n"
    "  local function read(key, n)\n"
    "    if sampled == 1 and n > k then return redis.call('ZRANDMEMBER', key, k) end\n"
    "    return redis.call('ZRANGE', key, 0, -1)\n"
    "  end\n"
    "  if ns > 0 and (sampled == 1 or not seeder) then sl = read(s, ns) end\n"
    "  if nl > 0 then ll = read(l, nl) end\n"
    "  if wantids and #sl + #ll > 0 then\n"
    "    local all = {}\n"
    "    for i = 1, #sl do all[i] = sl[i] end\n"
    "    for i = 1, #ll do all[#sl + i] = ll[i] end\n"
    "    ids = redis.call('HMGET', p, unpack(all))\n"
    "    for i = 1, #ids do if not ids[i] then ids[i] = '' end end\n"
    "  end\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "return {ns, nl, done, sl, ll, ids, tonumber(t[1]) * 1000000 + tonumber(t[2]), sampled}\n";

/* Bounded incremental sweep: swarms idle longer than the peer TTL lose their expired peers (and
 * the global counters with them). ARGV: now, ttl, max swarms per call. Returns swarms visited. */
const char wl_lua_sweep[] =
    "local g, sw = KEYS[1], KEYS[2]\n"
    "local now, ttl, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local cutoff = now - ttl\n"
    "local idle = redis.call('ZRANGEBYSCORE', sw, '-inf', '(' .. cutoff, 'LIMIT', 0, max)\n"
    "for _, hex in ipairs(idle) do\n"
    "  local b = 'wl:{' .. hex .. '}:'\n"
    "  local s, l, p, u = b .. 's', b .. 'l', b .. 'p', b .. 'u'\n"
    "  local n0 = redis.call('ZCARD', s) + redis.call('ZCARD', l)\n"
    "  for _, k in ipairs({s, l}) do\n"
    "    local gone = redis.call('ZRANGEBYSCORE', k, '-inf', '(' .. cutoff)\n"
    "    for i = 1, #gone do redis.call('ZREM', k, gone[i]); redis.call('HDEL', p, gone[i]); redis.call('HDEL', u, gone[i]) end\n"
    "  end\n"
    "  local n1 = redis.call('ZCARD', s) + redis.call('ZCARD', l)\n"
    "  if n1 ~= n0 then redis.call('HINCRBY', g, 'peers', n1 - n0) end\n"
    "  if n1 == 0 then\n"
    "    if n0 > 0 then redis.call('HINCRBY', g, 'swarms', -1) end\n"
    "    redis.call('ZREM', sw, hex); redis.call('DEL', p, u)\n"
    "  else\n"
    "    local newest = math.max(tonumber((redis.call('ZRANGE', s, -1, -1, 'WITHSCORES'))[2] or 0), tonumber((redis.call('ZRANGE', l, -1, -1, 'WITHSCORES'))[2] or 0))\n"
    "    redis.call('ZADD', sw, newest, hex)\n"
    "  end\n"
    "end\n"
    "return #idle\n";

/* Drops every peer of one swarm (its hash was blocked). KEYS: s, l, p, u, g, sw; ARGV: hex. */
const char wl_lua_drop[] =
    "local n0 = redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])\n"
    "redis.call('ZREM', KEYS[6], ARGV[1])\n"
    "if n0 > 0 then redis.call('HINCRBY', KEYS[5], 'peers', -n0); redis.call('HINCRBY', KEYS[5], 'swarms', -1) end\n"
    "return n0\n";
