"""Shared helpers for the real-client e2e tests (issue 9): libtorrent, aria2 and transmission
swarms through Weightless. Facts behind the settings are in /work/shared/FIELD-NOTES.md and
docs/clients.md.

- Runner: named scenarios, each timed and reported PASS / FAIL / SKIP, one summary at the end;
  the process exits 1 if any scenario failed (CTest then fails the test).
- Http: a tiny HTTP client bound to its own loopback address (the stack rate-limits per client
  IP: 5 req/s, burst 10), retrying 429s, with bencode decoding for /announce and /scrape.
- Content and torrents: nested multi-file trees of random data, v1 / v2-only / hybrid torrents
  made by libtorrent, byte-for-byte verification.
- libtorrent sessions whose peers come only from the tracker, aria2c command lines, a private
  stack (stack.sh) for scenarios that need a differently configured tracker.
"""
import contextlib
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from wlstack import load_env  # noqa: E402,F401  (re-exported for the tests)



# ---------------------------------------------------------------- scenarios ----------------------

class Skip(Exception):
    """Raised by a scenario that cannot run here (the reason is reported)."""


class Runner:
    def __init__(self, title):
        self.title = title
        self.results = []  # (name, status, seconds, detail)
        self.t0 = time.time()
        # a terminated test still cleans up (its finally blocks run on SystemExit)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def run(self, name, fn, *args, **kw):
        print(f"--- {name}", flush=True)
        t = time.time()
        try:
            fn(*args, **kw)
            status, detail = "PASS", ""
        except Skip as e:
            status, detail = "SKIP", str(e)
        except Exception as e:  # AssertionError and anything unexpected fail the scenario
            status = "FAIL"
            detail = f"{type(e).__name__}: {e}" if not isinstance(e, AssertionError) else str(e)
            traceback.print_exc()
        dt = time.time() - t
        self.results.append((name, status, dt, detail))
        line = f"{status}: {name} ({dt:.1f} s)" + (f": {detail}" if detail else "")
        print(line, file=sys.stderr if status == "FAIL" else sys.stdout, flush=True)
        return status == "PASS"

    def fail_now(self, name, why):
        """Reports a scenario that cannot start (a missing tool) as failed and exits."""
        def f():
            raise AssertionError(why)
        self.run(name, f)
        self.finish()

    def skip(self, name, why):
        self.results.append((name, "SKIP", 0.0, why))
        print(f"SKIP: {name}: {why}", flush=True)

    def finish(self):
        print(f"=== {self.title}: {time.time() - self.t0:.1f} s")
        for name, status, dt, detail in self.results:
            print(f"  {status:4} {dt:5.1f} s  {name}" + (f"  -- {detail}" if detail else ""))
        failed = [r for r in self.results if r[1] == "FAIL"]
        sys.stdout.flush()
        sys.exit(1 if failed else 0)


def wait_for(pred, timeout, what, step=0.1):
    """Polls pred until it is true; fails naming what was awaited (and the last value seen)."""
    deadline = time.time() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.time() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# ---------------------------------------------------------------- bencode ------------------------

def bdecode(data):
    def dec(i):
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            i += 1
            out = []
            while data[i:i + 1] != b"e":
                v, i = dec(i)
                out.append(v)
            return out, i + 1
        if c == b"d":
            i += 1
            out = {}
            while data[i:i + 1] != b"e":
                k, i = dec(i)
                v, i = dec(i)
                out[k] = v
            return out, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            return data[j + 1:j + 1 + n], j + 1 + n
        raise ValueError(f"bad bencode at {i}: {data[i:i + 20]!r}")
    v, end = dec(0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return v


def pct(b):
    return "".join("%%%02X" % x for x in b)


# ---------------------------------------------------------------- HTTP ---------------------------

class Http:
    """HTTP to the stack from one loopback address (its own rate-limit bucket)."""

    def __init__(self, base, src_ip="127.0.0.1", key=None):
        u = urllib.parse.urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = u.hostname, u.port or 80
        self.src_ip = src_ip
        self.key = key

    def request(self, method, path, body=None, headers=None, timeout=5, keyed=False):
        hdrs = dict(headers or {})
        if keyed and self.key:
            hdrs["X-Weightless-Key"] = self.key
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in range(20):
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout,
                                              source_address=(self.src_ip, 0))
            try:
                conn.request(method, path, body=body, headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                status, rh = r.status, {k.lower(): v for k, v in r.getheaders()}
            finally:
                conn.close()
            if status == 429:
                time.sleep(min(1.0, float(rh.get("retry-after", "1") or 1)))
                continue
            if path.startswith("/announce") and b"Rate limit exceeded" in data:
                time.sleep(0.5)
                continue
            return status, rh, data
        raise AssertionError(f"{method} {path}: still rate-limited after 20 tries")

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def json(self, method, path, body=None, expect=(200,), **kw):
        status, _, data = self.request(method, path, body=body, **kw)
        if status not in expect:
            raise AssertionError(f"{method} {path}: HTTP {status} (expected {expect}): "
                                 f"{data[:300]!r}")
        return status, (json.loads(data) if data else None)

    def health(self):
        try:
            return self.get("/health", timeout=3)[0]
        except OSError:
            return None

    def scrape(self, hashes, path="/scrape"):
        q = "&".join("info_hash=" + pct(h) for h in hashes)
        status, _, data = self.get(f"{path}?{q}")
        if status != 200:
            raise AssertionError(f"scrape: HTTP {status}: {data[:200]!r}")
        d = bdecode(data)
        if b"failure reason" in d:
            raise AssertionError(f"scrape refused: {d[b'failure reason'].decode()}")
        files = d.get(b"files", {})
        return {h: {k.decode(): v for k, v in files[h].items()} for h in files}

    def announce(self, ih, port, left=0, event="started", path="/announce", peer_id=None,
                 uploaded=0, downloaded=0):
        peer_id = peer_id or os.urandom(20)
        q = (f"info_hash={pct(ih)}&peer_id={pct(peer_id)}&port={port}&uploaded={uploaded}"
             f"&downloaded={downloaded}&left={left}&compact=1" + (f"&event={event}" if event else ""))
        status, _, data = self.get(f"{path}?{q}")
        if status != 200:
            raise AssertionError(f"announce: HTTP {status}: {data[:200]!r}")
        return bdecode(data)

    # registry
    def register_torrent(self, torrent_bytes, **params):
        q = ("?" + urllib.parse.urlencode(params)) if params else ""
        status, body = self.json("POST", "/api/registry/torrent" + q, body=torrent_bytes,
                                 headers={"Content-Type": "application/x-bittorrent"},
                                 expect=(200, 201), keyed=True)
        return body

    def registry_entry(self, hexhash):
        status, _, data = self.get(f"/api/registry?info_hash={hexhash}")
        if status == 404:
            return None
        if status != 200:
            raise AssertionError(f"GET /api/registry: HTTP {status}: {data[:200]!r}")
        return json.loads(data)


def registry_up(http_):
    """The registry-dependent scenarios run only when GET /health answers 200."""
    return http_.health() == 200


def scrape_wait(http_, hashes, want, timeout=15, path="/scrape"):
    """Waits until the scrape of every hash shows the wanted figures (a subset of
    complete / incomplete / downloaded)."""
    seen = {}

    def ok():
        s = http_.scrape(hashes, path=path)
        seen.clear()
        seen.update(s)
        return all(all(s.get(h, {}).get(k) == v for k, v in want.items()) for h in hashes)

    try:
        wait_for(ok, timeout, f"scrape to show {want}", step=0.3)
    except AssertionError as e:
        raise AssertionError(f"{e}; last scrape: "
                             + "; ".join(f"{h.hex()}={seen.get(h)}" for h in hashes))
    return seen


# ---------------------------------------------------------------- content ------------------------

def make_tree(root, scale=1.0):
    """A model-like tree with nested folders, about 2.7 MB x scale of random bytes (odd sizes so
    files end mid-piece). Returns {relative path: bytes}."""
    rnd = os.urandom
    files = {
        "weights/layers/00/model-00001.safetensors": rnd(int(1_200_000 * scale) + 7),
        "weights/layers/01/model-00002.safetensors": rnd(int(900_000 * scale) + 1),
        "weights/tokenizer/vocab/merges.txt": rnd(int(300_000 * scale) + 3),
        "weights/tokenizer/tokenizer.json": rnd(int(250_000 * scale)),
        "config/generation/config.json": b'{"temperature": 0.7}\n',
        "config/model.json": b'{"dim": 4096, "layers": 32}\n',
        "README.md": b"# an open model\n",
        "LICENSE": rnd(11_111),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return files


def verify_tree(files, root, who):
    for rel, data in files.items():
        p = os.path.join(root, rel)
        if not os.path.exists(p):
            raise AssertionError(f"{who}: {rel} is missing after the download")
        with open(p, "rb") as f:
            got = f.read()
        if got != data:
            raise AssertionError(f"{who}: {rel} differs after the download "
                                 f"({len(got)} bytes, sha256 {hashlib.sha256(got).hexdigest()[:16]} "
                                 f"vs {len(data)} bytes, {hashlib.sha256(data).hexdigest()[:16]})")


class Torrent:
    """A torrent made by libtorrent: kind 'v1' | 'v2' | 'hybrid'."""

    def __init__(self, lt, parent, name, kind, trackers=(), piece=65536):
        fs = lt.file_storage()
        lt.add_files(fs, os.path.join(parent, name))
        flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}[kind]
        ct = lt.create_torrent(fs, piece, flags=flags)
        for i, t in enumerate(trackers):
            ct.add_tracker(t, i)
        lt.set_piece_hashes(ct, parent)
        self.kind = kind
        self.bytes = lt.bencode(ct.generate())
        self.ti = lt.torrent_info(self.bytes)
        ih = self.ti.info_hashes()
        self.v1 = ih.v1.to_bytes() if ih.has_v1() else None
        self.v2 = ih.v2.to_bytes() if ih.has_v2() else None
        # the swarms the tracker sees: the v1 SHA-1 and/or the truncated v2 SHA-256
        self.swarms = [h for h in (self.v1, self.v2[:20] if self.v2 else None) if h]
        # the registry's key: the v2 SHA-256 when there is one, else the v1 SHA-1
        self.registry_hash = (self.v2 or self.v1).hex()
        # how libtorrent labels its announces of this torrent ("v1" / "v2" in tracker alerts)
        self.versions = {v for v, h in (("v1", self.v1), ("v2", self.v2)) if h}

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.bytes)
        return path


# ---------------------------------------------------------------- libtorrent ---------------------

def lt_session(lt, ip):
    """Peers only from the tracker (FIELD-NOTES): no DHT/LSD/UPnP/NAT-PMP, no default plugins
    (no ut_pex), several connections per IP, ssrf_mitigation off; bound to its own address."""
    settings = {
        "listen_interfaces": f"{ip}:0",
        "outgoing_interfaces": ip,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "ssrf_mitigation": False,
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": (lt.alert.category_t.error_notification
                       | lt.alert.category_t.status_notification
                       | lt.alert.category_t.tracker_notification),
    }
    try:
        return lt.session(settings, 0)  # flags=0: no default plugins (no ut_pex)
    except TypeError:
        return lt.session(settings)


class LtPeer:
    """One libtorrent session with one torrent; keeps its alerts."""

    def __init__(self, lt, name, ip, torrent, save_path, seed=False, trackers=None):
        self.lt, self.name, self.ip = lt, name, ip
        self.save_path = save_path
        os.makedirs(save_path, exist_ok=True)
        self.ses = lt_session(lt, ip)
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(torrent.bytes)
        p.save_path = save_path
        if trackers is not None:
            p.trackers = list(trackers)
        flags = lt.torrent_flags.disable_dht | lt.torrent_flags.disable_lsd | lt.torrent_flags.disable_pex
        if seed:
            flags |= lt.torrent_flags.seed_mode
        p.flags |= flags
        self.h = self.ses.add_torrent(p)
        self.alerts = []

    def pump(self):
        for a in self.ses.pop_alerts():
            self.alerts.append((type(a).__name__, a.message()))
        return self.alerts

    def tracker_errors(self):
        self.pump()
        return [m for t, m in self.alerts if t == "tracker_error_alert"]

    def tracker_replies(self):
        self.pump()
        return [m for t, m in self.alerts if t == "tracker_reply_alert"]

    def replied(self, versions, since=0):
        """True once the tracker has answered this torrent's announce for every one of versions
        ({"v1"}, {"v2"} or both for a hybrid torrent), counting replies from index since on."""
        got = set()
        for m in self.tracker_replies()[since:]:
            mo = re.search(r"\] (v[12]) received peers", m)
            if mo:
                got.add(mo.group(1))
        return versions <= got

    def status(self):
        return self.h.status()

    def seeding(self):
        return self.h.status().is_seeding

    def reannounce(self):
        self.h.force_reannounce(0, -1, self.lt.reannounce_flags_t.ignore_min_interval)

    def reported(self):
        """What libtorrent puts in its announces: uploaded = payload sent; downloaded = payload
        received minus bytes that failed the hash check and redundant bytes."""
        s = self.h.status()
        down = s.total_payload_download - s.total_failed_bytes - s.total_redundant_bytes
        return s.total_payload_upload, max(0, down)

    def close(self):
        try:
            self.ses.remove_torrent(self.h)
        except Exception:
            pass
        self.ses = None


def wait_all_seeding(peers, timeout, what):
    def done():
        return all(p.seeding() for p in peers)

    try:
        wait_for(done, timeout, what, step=0.1)
    except AssertionError as e:
        states = ", ".join(f"{p.name}: {p.status().progress * 100:.0f}% peers={p.status().num_peers}"
                           f" errors={p.tracker_errors()[-1:]}" for p in peers)
        raise AssertionError(f"{e} ({states})")


# ---------------------------------------------------------------- aria2 --------------------------

ARIA2_TRACKER_ONLY = ["--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                      "--enable-peer-exchange=false"]


def aria2_cmd(torrent_path, dir_, ip, port, seed=False, on_complete=None, extra=()):
    cmd = ["aria2c", f"--dir={dir_}", f"--interface={ip}", f"--listen-port={port}",
           "--disable-ipv6=true", "--console-log-level=warn", "--summary-interval=0",
           "--download-result=hide", "--bt-stop-timeout=0", "--follow-torrent=false",
           "--check-certificate=false", "--file-allocation=none", "--auto-save-interval=0",
           *ARIA2_TRACKER_ONLY]
    # seed until stopped (SIGINT: aria2 then announces stopped). A leecher must seed for a
    # while: with --seed-time=0 aria2 1.36 never announces event=completed (it goes straight to
    # event=stopped with left=0), so the tracker would count no completion.
    cmd += ["--seed-ratio=0.0"]
    if seed:  # seed what is on disk without re-hashing it
        cmd += ["--bt-seed-unverified=true", "--check-integrity=false"]
    if on_complete:  # run once the download completes, before seeding
        cmd += [f"--on-bt-download-complete={on_complete}"]
    return cmd + list(extra) + [torrent_path]


def completion_hook(path):
    """A script for --on-bt-download-complete that creates path.done; returns (script, marker)."""
    marker = path + ".done"
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\ntouch '{marker}'\n")
    os.chmod(path, 0o755)
    return path, marker


def free_port(ip="127.0.0.1"):
    import socket
    s = socket.socket()
    s.bind((ip, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _die_with_parent():
    """In the child before exec: SIGKILL it if the test dies (a CTest timeout kills the test
    with SIGKILL, and no finally block runs then). Survives exec (`ip netns exec` execs)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class Procs:
    """Processes started by a scenario; stop() ends each by its own pid: its stop signal (aria2:
    SIGINT, its graceful shutdown, which announces stopped; SIGTERM is aria2's emergency
    shutdown, which does not), then SIGKILL after a grace period."""

    def __init__(self):
        self.items = []
        self.signals = {}

    def start(self, name, cmd, log_dir, stop_signal=signal.SIGTERM, **kw):
        log = open(os.path.join(log_dir, f"{name}.log"), "wb")
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent, **kw)
        self.items.append((name, p, log))
        self.signals[p.pid] = stop_signal
        return p

    def log(self, name, tail=1500):
        for n, p, log in self.items:
            if n == name:
                log.flush()
                with open(log.name, "rb") as f:
                    return f.read()[-tail:].decode(errors="replace")
        return ""

    def stop(self, grace=8):
        for _, p, _ in self.items:
            if p.poll() is None:
                p.send_signal(self.signals.get(p.pid, signal.SIGTERM))
        deadline = time.time() + grace
        for _, p, log in self.items:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
            log.close()
        self.items = []


# ---------------------------------------------------------------- a private stack ----------------

STACK_PREFIX = "wl-e2e-stack-"


def pid_alive(pid):
    """True if the process exists and is not a zombie (a killed test may stay a zombie for a
    while when nothing reaps it)."""
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError, ValueError):
        return False
    return state not in ("Z", "X")


def _stop_stale_stacks(stack_sh):
    """Private stacks left by a test process that was killed (the pid in the directory name is
    gone): stop them with stack.sh and remove their directories."""
    tmp = tempfile.gettempdir()
    for n in os.listdir(tmp):
        if not n.startswith(STACK_PREFIX):
            continue
        pid = n[len(STACK_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(pid):
            d = os.path.join(tmp, n)
            subprocess.run([stack_sh, "stop", d], capture_output=True, timeout=60)
            shutil.rmtree(d, ignore_errors=True)


def _start_stack(stack_sh, d, build_dir, kv, penv):
    """One `stack.sh start`; returns None when up, else the reason. stack.sh picks a port that
    is free on 127.0.0.1 at that moment and the gateway binds it on [::] later: on a busy
    machine another socket can take it first. That is seen in the stack's log at once (the
    gateway exits and is restarted in a loop), so the attempt is abandoned without waiting out
    stack.sh's 30 s and the caller tries another port."""
    log = os.path.join(d, "stack.log")
    if os.path.exists(log):
        os.unlink(log)  # the previous attempt's
    p = subprocess.Popen([stack_sh, "start", d, build_dir, *kv], env=penv,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while p.poll() is None:
        try:
            with open(log, "rb") as f:
                in_use = b"address already in use" in f.read()
        except OSError:
            in_use = False
        if in_use or time.time() > deadline:
            p.terminate()  # stack.sh start (waiting for the stack); the stack is stopped below
            p.wait(timeout=10)
            subprocess.run([stack_sh, "stop", d], capture_output=True, timeout=60)
            return "port taken" if in_use else "stack.sh start did not finish in 60 s"
        time.sleep(0.2)
    out = p.stdout.read().decode(errors="replace")
    if p.returncode != 0:
        return "port taken" if "address already in use" in out else out[-1500:]
    return None


@contextlib.contextmanager
def own_stack(env, build_dir, *kv, need_registry=False):
    """A stack of its own (stack.sh) configured with VAR=value pairs; always stopped. Until the
    registry service answers /health, the stack is awaited on /metrics (the tracker works
    without the registry) unless the scenario needs the registry."""
    src = env.get("WL_TEST_SRC_DIR") or os.path.dirname(os.path.dirname(HERE))
    stack_sh = os.path.join(src, "tests", "integration", "stack.sh")
    _stop_stale_stacks(stack_sh)
    d = tempfile.mkdtemp(prefix=f"{STACK_PREFIX}{os.getpid()}-")
    penv = dict(os.environ)
    if not need_registry and Http(env["WL_TEST_HTTP"]).health() != 200:
        penv["STACK_READY_PATH"] = "/metrics"
    try:
        for attempt in range(3):
            why = _start_stack(stack_sh, d, build_dir, kv, penv)
            if why != "port taken" or attempt == 2:
                break
            print("  (the private stack's port was taken by another socket; retrying)")
        if why:
            raise AssertionError(f"the private stack ({' '.join(kv)}) did not start: {why}")
        yield load_env(d)
    finally:
        subprocess.run([stack_sh, "stop", d], capture_output=True, timeout=60)
        shutil.rmtree(d, ignore_errors=True)
