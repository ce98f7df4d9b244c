"""e2e (issue 9): aria2 (Debian aria2 1.36) completes a v1 swarm through Weightless: one aria2c
seeder and two aria2c leechers of a multi-file torrent with nested folders (~2.7 MB). Every
leecher completes with byte-identical files; scrape then counts two completions.

aria2 1.36 is v1 only: it cannot join a v2-only swarm and announces a wrong hash for hybrid
torrents (docs/clients.md); those are the client's limits and are not tested here.
Each aria2c process binds its own loopback address (--interface), as the stack rate-limits per
IP. Usage: test_clients_aria2.py STACK_DIR BUILD_DIR"""
import os
import shutil
import signal
import sys
import tempfile
import time

import libtorrent as lt  # only to make the torrent

from clients_util import (Http, Procs, Runner, Torrent, aria2_cmd, completion_hook, free_port,
                          load_env, make_tree, scrape_wait, verify_tree, wait_for)

NAME = "model"


def swarm_case(base, tmp):
    ctl = Http(base, "127.92.1.200")
    seed_dir = os.path.join(tmp, "seed")
    files = make_tree(os.path.join(seed_dir, NAME))
    t = Torrent(lt, seed_dir, NAME, "v1", trackers=[base + "/announce"])
    tpath = t.write(os.path.join(tmp, "model.torrent"))
    ih = t.v1
    procs = Procs()
    try:
        ip = "127.92.1.1"
        procs.start("seeder", aria2_cmd(tpath, seed_dir, ip, free_port(ip), seed=True), tmp,
                    stop_signal=signal.SIGINT)
        wait_for(lambda: ctl.scrape([ih]).get(ih, {}).get("complete") == 1, 20,
                 "the aria2 seeder's announce (scrape complete=1)", step=0.3)
        leechers = {}
        for i in (1, 2):
            ip = f"127.92.1.{i + 1}"
            d = os.path.join(tmp, f"leech{i}")
            os.makedirs(d)
            hook, marker = completion_hook(os.path.join(tmp, f"leecher{i}-done.sh"))
            p = procs.start(f"leecher{i}",
                            aria2_cmd(tpath, d, ip, free_port(ip), on_complete=hook), tmp,
                            stop_signal=signal.SIGINT)
            leechers[f"leecher{i}"] = (d, p, marker)
        deadline = time.time() + 60
        for name, (d, p, marker) in leechers.items():
            while not os.path.exists(marker):
                if p.poll() is not None:
                    raise AssertionError(f"aria2 {name} exited with {p.returncode} before "
                                         f"completing: {procs.log(name)}")
                if time.time() > deadline:
                    raise AssertionError(f"aria2 {name} did not complete in 60 s; its log: "
                                         f"{procs.log(name)}; seeder log: {procs.log('seeder')}")
                time.sleep(0.1)
            verify_tree(files, os.path.join(d, NAME), f"aria2 {name}")
        # both leechers announced completed and seed on: three seeders, two completions
        got = scrape_wait(ctl, [ih], {"complete": 3, "incomplete": 0, "downloaded": 2})
        print(f"  scrape {ih.hex()}: {got[ih]}")
        for name, p, _ in procs.items:
            assert p.poll() is None, f"aria2 {name} exited: {procs.log(name)}"
        # SIGINT: aria2 announces stopped on its way out, the swarm empties
        procs.stop()
        got = scrape_wait(ctl, [ih], {"complete": 0, "incomplete": 0, "downloaded": 2})
    finally:
        procs.stop()


def main():
    env = load_env(sys.argv[1])
    base = env["WL_TEST_HTTP"]
    runner = Runner("aria2 clients")
    if not shutil.which("aria2c"):
        runner.fail_now("aria2 v1 swarm", "aria2c is not installed (apt-get install aria2)")
    tmp = tempfile.mkdtemp(prefix="wl-e2e-aria2-")
    try:
        runner.run("aria2 v1: 1 seeder + 2 leechers complete, scrape agrees", swarm_case, base, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    runner.finish()


if __name__ == "__main__":
    main()
