"""e2e (issue 9): real libtorrent clients (Debian python3-libtorrent 2.0.8) complete real swarms
through Weightless.

Scenarios, each a fresh torrent of random data (multi-file, nested folders, ~2.7 MB):
  swarm v1 / v2 / hybrid   one seeder and three leechers complete, files byte-identical, scrape
                           agrees (hybrid: both the v1 and the truncated-v2 swarm)
  registry figures         the registry entry shows the swarm's seeders and completions
                           (registry needed)
  passkeys                 a stack of its own with TRACKER_SECRET: plain /announce refused, the
                           swarm completes through /announce/{passkey}, GET /api/users totals
                           equal what each client reported
  blocklist                deleting the entry mid-swarm: the clients' next announces fail with
                           the reason, a new leecher gets no peer, scrape leaves the hashes out
                           (registry needed)
  curated                  a stack of its own with WL_REQUIRE_REGISTERED=1: an unregistered
                           torrent is refused, registering it lets the swarm form (registry needed)

Every client session has its own loopback address (the stack rate-limits per IP).
Usage: test_clients_libtorrent.py STACK_DIR BUILD_DIR"""
import json
import os
import shutil
import sys
import tempfile
import time

import libtorrent as lt

from clients_util import (Http, LtPeer, Runner, Skip, Torrent, load_env, make_tree, own_stack,
                          registry_up, scrape_wait, verify_tree, wait_all_seeding, wait_for)

NAME = "model"


class Swarm:
    """A seeder and N leechers of one torrent, each session on 127.91.{net}.{i}."""

    def __init__(self, tmp, net, kind, announce_urls, trackers_for=None, leechers=3, tag=""):
        self.dir = os.path.join(tmp, f"{kind}{tag}-{net}")
        self.net = net
        seed_dir = os.path.join(self.dir, "seed")
        self.files = make_tree(os.path.join(seed_dir, NAME))
        self.torrent = Torrent(lt, seed_dir, NAME, kind, trackers=announce_urls)
        self.seed_dir = seed_dir
        self.trackers_for = trackers_for or (lambda i: None)
        self.n_leechers = leechers
        self.peers = []

    def ip(self, i):
        return f"127.91.{self.net}.{i + 1}"

    def start_seeder(self):
        s = LtPeer(lt, "seeder", self.ip(0), self.torrent, self.seed_dir, seed=True,
                   trackers=self.trackers_for(0))
        self.peers.append(s)
        return s

    def start_leecher(self, i):
        p = LtPeer(lt, f"leecher{i}", self.ip(i), self.torrent,
                   os.path.join(self.dir, f"leech{i}"), trackers=self.trackers_for(i))
        self.peers.append(p)
        return p

    def run(self, timeout=60):
        """Leechers first, then the seeder. libtorrent 2.0.8 drops event=completed for a hash
        whose announce is still unanswered when the download finishes, and on loopback a
        hybrid leecher can finish within milliseconds of the first of its two answers (v1 and
        truncated v2): the other swarm would then never count its completion (docs/clients.md).
        So every leecher's started announces are answered before any data exists; then the
        seeder announces, is given the leechers and connects to them."""
        leechers = [self.start_leecher(i) for i in range(1, self.n_leechers + 1)]
        for p in leechers:
            wait_for(lambda p=p: p.replied(self.torrent.versions), 20,
                     f"the tracker to answer {p.name}'s started announces "
                     f"({'/'.join(sorted(self.torrent.versions))}; errors: {p.tracker_errors()})")
        seeder = self.start_seeder()
        wait_all_seeding(leechers, timeout,
                         f"{len(leechers)} leechers to complete (peers come only from the tracker)")
        for p in leechers:
            verify_tree(self.files, os.path.join(p.save_path, NAME), p.name)
        return seeder, leechers

    def close(self):
        for p in self.peers:
            p.close()
        self.peers = []


def main():
    stack_dir, build_dir = sys.argv[1], sys.argv[2]
    env = load_env(stack_dir)
    base = env["WL_TEST_HTTP"]
    key = env.get("REGISTRY_KEY")
    ctl = Http(base, "127.91.0.1", key)
    reg = registry_up(ctl)
    no_reg = "the registry does not answer (GET /health is not 200); runs once it does"
    runner = Runner("libtorrent clients")
    tmp = tempfile.mkdtemp(prefix="wl-e2e-lt-")
    swarms = []
    try:
        # ---- v1, v2-only and hybrid swarms (and the registry's figures for them) ----------
        for net, kind in ((1, "v1"), (2, "v2"), (3, "hybrid")):
            sw = Swarm(tmp, net, kind, [base + "/announce"])
            swarms.append(sw)
            registered = {}

            def swarm_case(sw=sw, registered=registered):
                if reg:  # register first, as a publisher would: the figures follow the swarm
                    try:
                        registered.update(ctl.register_torrent(sw.torrent.bytes) or {})
                    except Exception as e:  # reported by the registry scenario, not this one
                        registered["error"] = f"POST /api/registry/torrent failed: {e}"
                sw.run()
                want = {"complete": 1 + sw.n_leechers, "incomplete": 0, "downloaded": sw.n_leechers}
                got = scrape_wait(ctl, sw.torrent.swarms, want)
                print(f"  {sw.torrent.kind}: scrape " + "; ".join(
                    f"{h.hex()}: {got[h]}" for h in sw.torrent.swarms))

            ok = runner.run(f"swarm {kind}: 1 seeder + 3 leechers complete, scrape agrees", swarm_case)

            def registry_case(sw=sw, registered=registered):
                if not reg:
                    raise Skip(no_reg)
                if "error" in registered:
                    raise AssertionError(registered["error"])
                if not ok:
                    raise Skip("the swarm did not complete")
                t = sw.torrent
                if registered.get("info_hash") != t.registry_hash:
                    raise AssertionError(f"registering the {t.kind} torrent answered {registered}, "
                                         f"expected info_hash {t.registry_hash}")
                want = (1 + sw.n_leechers, 0, sw.n_leechers)
                last = {}

                def figures():
                    e = ctl.registry_entry(t.registry_hash)
                    last["e"] = e
                    return e and (e.get("seeders"), e.get("leechers"), e.get("completions")) == want

                try:
                    wait_for(figures, 12, f"the registry entry to show seeders/leechers/"
                             f"completions {want} (at most 5 s behind the swarm)", step=0.5)
                except AssertionError as e:
                    raise AssertionError(f"{e}; last entry: {last.get('e')}")
                if t.v1 and t.v2:  # a hybrid entry is also found by its v1 hash
                    e1 = ctl.registry_entry(t.v1.hex())
                    assert e1 and e1.get("info_hash") == t.v2.hex(), \
                        f"GET /api/registry?info_hash=<v1 hash> gave {e1}"
                    assert e1.get("v1_info_hash") == t.v1.hex(), f"v1_info_hash wrong: {e1}"

            runner.run(f"registry figures {kind}: seeders and completions from the "
                       f"{'v1' if kind == 'v1' else 'truncated-v2' if kind == 'v2' else 'v1 and truncated-v2'} swarm",
                       registry_case)
            sw.close()

        # ---- passkeys -------------------------------------------------------------------
        runner.run("passkeys: swarm through /announce/{passkey}, user totals match the clients",
                   passkey_case, env, build_dir, tmp)

        # ---- blocklist mid-swarm --------------------------------------------------------
        def blocklist():
            if not reg:
                raise Skip(no_reg)
            blocklist_case(base, key, tmp)
        runner.run("blocklist: deleting the entry mid-swarm refuses the next announces", blocklist)

        # ---- curated mode ---------------------------------------------------------------
        def curated():
            if not reg:
                raise Skip(no_reg)
            curated_case(env, build_dir, tmp)
        runner.run("curated: unregistered refused, registering lets the swarm form", curated)
    finally:
        for sw in swarms:
            sw.close()
        shutil.rmtree(tmp, ignore_errors=True)
    runner.finish()


def passkey_case(env, build_dir, tmp):
    secret = os.urandom(16).hex()
    with own_stack(env, build_dir, f"TRACKER_SECRET={secret}") as penv:
        base = penv["WL_TEST_HTTP"]
        ctl = Http(base, "127.91.4.200", penv["REGISTRY_KEY"])
        tag = os.urandom(3).hex()
        users = [f"e2e-{tag}-{n}" for n in ("seeder", "leecher1", "leecher2", "leecher3")]
        keys = [ctl.json("POST", "/api/passkeys", {"user_id": u}, keyed=True)[1]["passkey"]
                for u in users]
        for u, k in zip(users, keys):
            assert k.startswith(u + "."), f"passkey for {u} is {k!r}"

        sw = Swarm(tmp, 4, "v1", [], trackers_for=lambda i: [f"{base}/announce/{keys[i]}"])
        try:
            ih = sw.torrent.v1
            # without a passkey, or with a forged one, the tracker refuses
            for path in ("/announce", f"/announce/{users[0]}.{'0' * 64}"):
                r = ctl.announce(ih, 6881, left=0, path=path)
                assert b"failure reason" in r, f"GET {path} with TRACKER_SECRET set answered {r}"
            seeder, leechers = sw.run()
            peers = [seeder] + leechers
            scrape_wait(ctl, sw.torrent.swarms,
                        {"complete": 4, "incomplete": 0, "downloaded": 3},
                        path=f"/scrape/{keys[0]}")

            # the last announce carries the final figures: re-announce and wait for them
            for p in peers:
                p.reannounce()
            seen = {}

            def totals_match():
                ok = True
                for u, p in zip(users, peers):
                    status, _, data = ctl.get(f"/api/users?user_id={u}")
                    got = json.loads(data) if status == 200 else {"status": status}
                    want = p.reported()
                    seen[u] = (got, want)
                    if (got.get("uploaded"), got.get("downloaded")) != want:
                        ok = False
                return ok

            try:
                wait_for(totals_match, 10, "GET /api/users totals to equal what the clients "
                         "reported in their last announce", step=0.5)
            except AssertionError as e:
                raise AssertionError(f"{e}: " + "; ".join(
                    f"{u}: tracker {g.get('uploaded')}/{g.get('downloaded')} client up/down {w}"
                    for u, (g, w) in seen.items()))
            size = sum(len(d) for d in sw.files.values())
            up = sum(seen[u][0]["uploaded"] for u in users)
            down = sum(seen[u][0]["downloaded"] for u in users)
            assert down >= 3 * size, f"the leechers downloaded {down} bytes in total, < 3 x {size}"
            print(f"  user totals (uploaded/downloaded): " + ", ".join(
                f"{u.rsplit('-', 1)[1]} {seen[u][0]['uploaded']}/{seen[u][0]['downloaded']}"
                for u in users) + f"; all uploaded {up}, all downloaded {down}")
        finally:
            sw.close()


def blocklist_case(base, key, tmp):
    ctl = Http(base, "127.91.5.200", key)
    sw = Swarm(tmp, 5, "hybrid", [base + "/announce"], leechers=1)
    t = sw.torrent
    reason = f"e2e blocklist {os.urandom(3).hex()}"
    try:
        ctl.register_torrent(t.bytes)
        seeder, (l1,) = sw.run()
        scrape_wait(ctl, t.swarms, {"complete": 2, "downloaded": 1})

        ctl.json("DELETE", f"/api/registry?info_hash={t.registry_hash}&reason={reason.replace(' ', '%20')}",
                 keyed=True)
        time.sleep(1.1)  # blocked on every announce instance within 1 s
        for p in (seeder, l1):
            p.reannounce()
        for p in (seeder, l1):
            wait_for(lambda p=p: any(reason in m for m in p.tracker_errors()), 10,
                     f"{p.name}'s next announce to fail with the reason {reason!r} "
                     f"(tracker errors so far: {p.tracker_errors()})", step=0.2)
        # a new leecher is refused and gets no peer
        l2 = sw.start_leecher(2)
        wait_for(lambda: any(reason in m for m in l2.tracker_errors()), 10,
                 "the new leecher's announce to fail with the reason", step=0.2)
        time.sleep(2)
        st = l2.status()
        assert st.num_peers == 0 and st.total_payload_download == 0, \
            f"the new leecher found {st.num_peers} peers / {st.total_payload_download} bytes"
        assert not [pi for pi in seeder.h.get_peer_info() if pi.ip[0] == sw.ip(2)], \
            "the seeder learnt of the new leecher"
        s = ctl.scrape(t.swarms)
        assert not s, f"scrape still lists blocked hashes: {s}"
        assert ctl.registry_entry(t.registry_hash) is None, "the deleted entry is still served"
        print(f"  refused with: {l2.tracker_errors()[-1]}")
    finally:
        sw.close()
        for h in (t.v2.hex(), t.v1.hex()):  # leave the shared stack's blocklist as it was
            try:
                ctl.request("DELETE", f"/api/blocklist?info_hash={h}", keyed=True)
            except OSError:
                pass


def curated_case(env, build_dir, tmp):
    with own_stack(env, build_dir, "WL_REQUIRE_REGISTERED=1", need_registry=True) as penv:
        base = penv["WL_TEST_HTTP"]
        ctl = Http(base, "127.91.6.200", penv["REGISTRY_KEY"])
        sw = Swarm(tmp, 6, "hybrid", [base + "/announce"], leechers=2)
        t = sw.torrent
        try:
            seeder = sw.start_seeder()
            leechers = [sw.start_leecher(1), sw.start_leecher(2)]
            for p in [seeder] + leechers:
                wait_for(lambda p=p: p.tracker_errors(), 10,
                         f"{p.name}'s announce of an unregistered torrent to be refused", step=0.2)
            refusal = seeder.tracker_errors()[-1]
            time.sleep(1)
            for p in leechers:
                assert p.status().num_peers == 0 and p.status().progress == 0, \
                    f"{p.name} found peers though the torrent is not registered"
            seeder.h.pause()  # no retries of its own until the leechers are in (see Swarm.run)
            marks = {p.name: len(p.tracker_replies()) for p in [seeder] + leechers}
            ctl.register_torrent(t.bytes)

            # leechers first (see Swarm.run): re-announce until both hashes are admitted
            def admitted(peers):
                if all(p.replied(t.versions, marks[p.name]) for p in peers):
                    return True
                for p in peers:
                    p.reannounce()
                return False

            wait_for(lambda: admitted(leechers), 20, "the leechers' announces to be admitted "
                     "once the torrent is registered", step=1.0)
            seeder.h.resume()
            wait_for(lambda: admitted([seeder]), 10, "the seeder's announce to be admitted",
                     step=1.0)
            wait_all_seeding(leechers, 30, "the swarm to form and complete once registered")
            for p in leechers:
                verify_tree(sw.files, os.path.join(p.save_path, NAME), p.name)
            # both the v1 and the truncated-v2 hash are admitted and count the completions
            scrape_wait(ctl, t.swarms, {"complete": 3, "downloaded": 2})
            print(f"  refused before registration with: {refusal}")
        finally:
            sw.close()


if __name__ == "__main__":
    main()
