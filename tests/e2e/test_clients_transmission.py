"""e2e (issue 9): transmission-cli 3.00 (Debian) completes a v1 swarm through Weightless.

transmission treats peers on 127.0.0.0/8 (and ::1) that a tracker hands out as "martian" and never
dials them, so the test gives it a network of its own: a namespace (`ip netns add`) joined to the
host by a veth pair, private addresses 10.209.N.2 (namespace) and 10.209.N.1 (host side). The
stack listens on all addresses, so transmission reaches the tracker at 10.209.N.1; the seeder
binds 10.209.N.1 too, so the tracker hands transmission a private, non-loopback address.

Scenarios (each a fresh multi-file torrent with nested folders, ~1.1 MB: transmission
ramps its download rate up slowly, and an aria2 seeder unchokes only every 10 s):
  libtorrent seeder -> transmission leecher completes, files byte-identical, scrape agrees
  aria2 seeder      -> transmission leecher completes, files byte-identical, scrape agrees
The namespace is always deleted (and with it the veth pair), even on failure; namespaces left by
an earlier run that was killed are removed first. If namespaces cannot be created here, the test
prints SKIP and passes. Usage: test_clients_transmission.py STACK_DIR BUILD_DIR"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import libtorrent as lt

from clients_util import (Http, LtPeer, Procs, Runner, Torrent, aria2_cmd, free_port, load_env,
                          make_tree, pid_alive, scrape_wait, verify_tree, wait_for)

NAME = "model"
NS_PREFIX = "wl9tx"


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def remove_stale_namespaces():
    """Namespaces of this test whose creating process is gone (a run that was killed)."""
    r = sh("ip", "netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(NS_PREFIX) and name[len(NS_PREFIX):].isdigit():
            pid = int(name[len(NS_PREFIX):])
            if pid != os.getpid() and not pid_alive(pid):
                sh("ip", "netns", "del", name, check=False)


class Netns:
    """One namespace joined to the host by a veth pair: host 10.209.N.1/24, namespace .2."""

    def __init__(self):
        pid = os.getpid()
        self.name = f"{NS_PREFIX}{pid}"
        self.host_if, self.ns_if = f"wl9h{pid}", f"wl9n{pid}"
        self.created = False
        routes = sh("ip", "-4", "route", "show", "table", "all", check=False).stdout
        addrs = sh("ip", "-4", "addr", check=False).stdout
        n = pid % 250 + 1
        for k in range(250):
            m = (n + k) % 250 + 1
            if f"10.209.{m}." not in routes and f"10.209.{m}." not in addrs:
                break
        self.host_ip, self.ns_ip = f"10.209.{m}.1", f"10.209.{m}.2"

    def create(self):
        sh("ip", "netns", "add", self.name)
        self.created = True
        sh("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if,
           "netns", self.name)
        sh("ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
        sh("ip", "link", "set", self.host_if, "up")
        sh("ip", "-n", self.name, "addr", "add", f"{self.ns_ip}/24", "dev", self.ns_if)
        sh("ip", "-n", self.name, "link", "set", self.ns_if, "up")
        sh("ip", "-n", self.name, "link", "set", "lo", "up")

    def delete(self):
        if self.created:
            sh("ip", "netns", "del", self.name, check=False)  # takes the veth pair with it
            self.created = False
        if sh("ip", "link", "show", self.host_if, check=False).returncode == 0:
            sh("ip", "link", "del", self.host_if, check=False)

    def exec(self, *cmd):
        return ["ip", "netns", "exec", self.name, *cmd]


def transmission_leecher(procs, ns, torrent_path, work, name):
    """transmission-cli in the namespace with DHT, LPD, PEX, uTP and port mapping off; returns
    (process, download dir, marker file created by its --finish script)."""
    conf = os.path.join(work, f"{name}-config")
    down = os.path.join(work, f"{name}-download")
    os.makedirs(conf)
    os.makedirs(down)
    with open(os.path.join(conf, "settings.json"), "w") as f:
        json.dump({"dht-enabled": False, "lpd-enabled": False, "pex-enabled": False,
                   "utp-enabled": False, "port-forwarding-enabled": False,
                   "peer-port-random-on-start": False, "blocklist-enabled": False,
                   "speed-limit-down-enabled": False, "speed-limit-up-enabled": False,
                   "ratio-limit-enabled": False, "incomplete-dir-enabled": False,
                   "rename-partial-files": False, "watch-dir-enabled": False,
                   "rpc-enabled": False, "message-level": 2}, f)
    marker = os.path.join(work, f"{name}.done")
    script = os.path.join(work, f"{name}-done.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\ntouch '{marker}'\n")
    os.chmod(script, 0o755)
    env = dict(os.environ, HOME=work, TRANSMISSION_HOME=conf)
    p = procs.start(name, ns.exec("transmission-cli", "-g", conf, "-w", down, "-p", "51413",
                                  "-M", "-D", "-U", "-ep", "-f", script, torrent_path),
                    work, stop_signal=signal.SIGINT, env=env)
    return p, down, marker


def wait_transmission(procs, name, p, marker, timeout, seeder_log=""):
    deadline = time.time() + timeout
    while not os.path.exists(marker):
        if p.poll() is not None:
            raise AssertionError(f"transmission-cli exited with {p.returncode} before completing: "
                                 f"{procs.log(name)}")
        if time.time() > deadline:
            raise AssertionError(f"transmission-cli did not complete in {timeout} s; its output: "
                                 f"{procs.log(name, 800)!r}" + (f"; seeder: {seeder_log}" if seeder_log else ""))
        time.sleep(0.2)


def from_libtorrent(base_port, ns, tmp):
    work = os.path.join(tmp, "lt")
    seed_dir = os.path.join(work, "seed")
    files = make_tree(os.path.join(seed_dir, NAME), scale=0.4)  # ~1.1 MB
    tracker = f"http://{ns.host_ip}:{base_port}/announce"
    t = Torrent(lt, seed_dir, NAME, "v1", trackers=[tracker])
    tpath = t.write(os.path.join(work, "model.torrent"))
    ctl = Http(f"http://127.0.0.1:{base_port}", "127.93.1.200")
    procs = Procs()
    seeder = LtPeer(lt, "seeder", ns.host_ip, t, seed_dir, seed=True)
    try:
        wait_for(lambda: seeder.tracker_replies(), 15,
                 f"the libtorrent seeder's announce from {ns.host_ip}", step=0.1)
        p, down, marker = transmission_leecher(procs, ns, tpath, work, "transmission")
        wait_transmission(procs, "transmission", p, marker, 60,
                          f"peers={seeder.status().num_peers}")
        verify_tree(files, os.path.join(down, NAME), "transmission")
        got = scrape_wait(ctl, [t.v1], {"complete": 2, "incomplete": 0, "downloaded": 1})
        print(f"  scrape {t.v1.hex()}: {got[t.v1]}")
    finally:
        procs.stop()
        seeder.close()


def from_aria2(base_port, ns, tmp):
    work = os.path.join(tmp, "aria2")
    seed_dir = os.path.join(work, "seed")
    files = make_tree(os.path.join(seed_dir, NAME), scale=0.4)  # ~1.1 MB
    tracker = f"http://{ns.host_ip}:{base_port}/announce"
    t = Torrent(lt, seed_dir, NAME, "v1", trackers=[tracker])
    tpath = t.write(os.path.join(work, "model.torrent"))
    ctl = Http(f"http://127.0.0.1:{base_port}", "127.93.2.200")
    procs = Procs()
    try:
        procs.start("aria2-seeder", aria2_cmd(tpath, seed_dir, ns.host_ip, free_port(ns.host_ip),
                                              seed=True), work, stop_signal=signal.SIGINT)
        wait_for(lambda: ctl.scrape([t.v1]).get(t.v1, {}).get("complete") == 1, 15,
                 "the aria2 seeder's announce (scrape complete=1)", step=0.3)
        p, down, marker = transmission_leecher(procs, ns, tpath, work, "transmission")
        wait_transmission(procs, "transmission", p, marker, 60, procs.log("aria2-seeder", 400))
        verify_tree(files, os.path.join(down, NAME), "transmission")
        got = scrape_wait(ctl, [t.v1], {"complete": 2, "incomplete": 0, "downloaded": 1})
        print(f"  scrape {t.v1.hex()}: {got[t.v1]}")
    finally:
        procs.stop()


def main():
    env = load_env(sys.argv[1])
    port = int(env["WL_TEST_HTTP_PORT"])
    runner = Runner("transmission clients")
    missing = [b for b in ("ip", "transmission-cli", "aria2c", "curl") if not shutil.which(b)]
    if missing:
        runner.fail_now("transmission setup", f"not installed: {', '.join(missing)} "
                        "(apt-get install iproute2 transmission-cli aria2 curl)")
    remove_stale_namespaces()
    ns = Netns()
    tmp = tempfile.mkdtemp(prefix="wl-e2e-tr-")
    os.chmod(tmp, 0o755)
    try:
        try:
            ns.create()
        except RuntimeError as e:
            if not ns.created:  # `ip netns add` itself failed: no namespaces here
                print(f"SKIP: network namespaces are unavailable here ({e}); transmission-cli "
                      "cannot be tested on loopback (it never dials 127.0.0.0/8 peers)")
                return
            raise
        # the tracker must be reachable from the namespace
        r = subprocess.run(ns.exec("curl", "-sS", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                                   f"http://{ns.host_ip}:{port}/metrics"),
                           capture_output=True, text=True, timeout=10)
        if r.stdout.strip() not in ("200", "429"):
            raise AssertionError(f"the tracker is not reachable from the namespace at "
                                 f"{ns.host_ip}:{port}: {r.stdout} {r.stderr}")
        runner.run("transmission leecher (netns) completes from a libtorrent seeder",
                   from_libtorrent, port, ns, tmp)
        runner.run("transmission leecher (netns) completes from an aria2 seeder",
                   from_aria2, port, ns, tmp)
    finally:
        ns.delete()
        shutil.rmtree(tmp, ignore_errors=True)
    runner.finish()


if __name__ == "__main__":
    main()
