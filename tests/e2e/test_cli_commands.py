"""e2e: every `weightless` command against a running stack (gateway + registry + announce).

A hybrid torrent made by `weightless create` is published, found by search, shown by info,
turned into a magnet, downloaded by get, verified, blocked and unblocked; passkeys match the
HMAC the tracker checks; failures give the documented exit codes and say what is wrong first.
Then a libtorrent swarm (a seeder with the data, a leecher with the torrent fetched by
`weightless get`) completes through the tracker, with peers only from the tracker.

Usage: test_cli_commands.py STACK_DIR BUILD_DIR (STACK_DIR/env: WL_TEST_HTTP, REGISTRY_KEY,
maybe TRACKER_SECRET)."""
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import libtorrent as lt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wlstack import add, fail, load_env, lt_session, wait_for  # noqa: E402

CHECKS = 0


def check(cond, msg):
    global CHECKS
    CHECKS += 1
    if not cond:
        fail(msg)


class Cli:
    def __init__(self, path, base, key):
        self.path = path
        self.env = dict(os.environ, WEIGHTLESS_SERVER=base)
        self.env.pop("TRACKER_SECRET", None)
        self.env.pop("WEIGHTLESS_KEY", None)
        if key:
            self.env["WEIGHTLESS_KEY"] = key

    def __call__(self, *args, code=0, env=None, unset=()):
        e = dict(self.env, **(env or {}))
        for k in unset:
            e.pop(k, None)
        p = subprocess.run([self.path, *args], capture_output=True, env=e, timeout=120)
        if code is not None and p.returncode != code:
            fail(f"weightless {' '.join(args)}: exit {p.returncode}, wanted {code}\n"
                 f"stdout: {p.stdout.decode()}\nstderr: {p.stderr.decode()}")
        return p


def kv(out):
    d = {}
    for line in out.decode().splitlines():
        if ":" in line and not line.startswith(" "):
            k, v = line.split(":", 1)
            d.setdefault(k.strip(), v.strip())
    return d


def make_tree(root, tag):
    files = {
        f"{tag}/weights/layer-0.bin": os.urandom(700_000),
        f"{tag}/weights/layer-1.bin": os.urandom(300_001),
        f"{tag}/config.json": b'{"dim": 4096}',
        f"{tag}/README.md": b"# a model\n",
        f"{tag}/empty.txt": b"",
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return files


def main():
    env = load_env(sys.argv[1])
    build = sys.argv[2]
    base = env["WL_TEST_HTTP"].rstrip("/")
    key = env.get("REGISTRY_KEY", "")
    secret = env.get("TRACKER_SECRET", "")
    cli = Cli(os.path.abspath(os.path.join(build, "tools", "weightless")), base, key)
    tag = "cli-e2e-" + os.urandom(4).hex()
    tmp = tempfile.mkdtemp(prefix="wl-cli-cmd-")
    try:
        # --- help and usage errors
        for cmd in ("create", "publish", "search", "info", "magnet", "get", "block", "unblock",
                    "verify", "passkey"):
            p = cli(cmd, "--help")
            check(p.stdout.startswith(f"usage: weightless {cmd}".encode()), f"{cmd} --help")
            p = cli("help", cmd)
            check(p.stdout.startswith(f"usage: weightless {cmd}".encode()), f"help {cmd}")
        p = cli("--help")
        check(b"Exit codes" in p.stdout and b"WEIGHTLESS_SERVER" in p.stdout, "weightless --help")
        cli(code=1)
        p = cli("frobnicate", code=1)
        check(p.stderr.startswith(b"weightless: unknown command 'frobnicate'"), "unknown command")
        p = cli("info", "not-a-hash", code=1)
        check(b"is not an info hash" in p.stderr, "bad hash argument")
        p = cli("search", "--sort", "bogus", code=1)
        check(b"unknown --sort" in p.stderr, "bad sort")
        p = cli("search", "--limit", "-1", code=1)
        p = cli("block", "a" * 64, code=1)
        check(b"--reason is required" in p.stderr, "block without reason")

        # --- the server is unreachable: exit 2, and the message says so first
        p = cli("search", "x", env={"WEIGHTLESS_SERVER": "http://127.0.0.1:1"}, code=2)
        check(p.stderr.startswith(b"weightless: cannot reach the server at http://127.0.0.1:1"),
              f"unreachable: {p.stderr}")

        # --- passkey: local HMAC from TRACKER_SECRET, same as the tracker checks
        p = cli("passkey", "alice_01", env={"TRACKER_SECRET": "s3cret"})
        want = "alice_01." + hmac.new(b"s3cret", b"alice_01", hashlib.sha256).hexdigest()
        check(p.stdout.decode().strip() == want, f"passkey {p.stdout} != {want}")
        p = cli("passkey", "alice_01", "--announce", env={"TRACKER_SECRET": "s3cret"})
        check(p.stdout.decode().strip() == f"{base}/announce/{want}", "passkey --announce")
        cli("passkey", "bad user!", env={"TRACKER_SECRET": "s3cret"}, code=1)
        cli("passkey", "x" * 65, env={"TRACKER_SECRET": "s3cret"}, code=1)
        # without a local secret the server is asked (409 when it has none itself)
        p = cli("passkey", "bob", code=None)
        if secret:
            want = "bob." + hmac.new(secret.encode(), b"bob", hashlib.sha256).hexdigest()
            check(p.returncode == 0 and p.stdout.decode().strip() == want, "server passkey")
        else:
            check(p.returncode == 3 and b"(HTTP 409)" in p.stderr, f"server passkey {p.stderr}")
        passkey = None
        if secret:
            p = cli("passkey", "cli-test", env={"TRACKER_SECRET": secret})
            passkey = p.stdout.decode().strip()
        announce = f"{base}/announce" + (f"/{passkey}" if passkey else "")

        # --- create a hybrid torrent and publish it
        seed_dir = os.path.join(tmp, "seed")
        files = make_tree(seed_dir, tag)
        tor = os.path.join(tmp, f"{tag}.torrent")
        p = cli("create", os.path.join(seed_dir, tag), "-o", tor, "--tracker", announce,
                "--piece-size", "32K")
        made = kv(p.stdout)
        v1, v2 = made["v1 info hash"], made["v2 info hash"]
        ti = lt.torrent_info(tor)
        check(str(ti.info_hashes().v1) == v1 and str(ti.info_hashes().v2) == v2, "create hashes")

        if key:
            p = cli("publish", tor, unset=("WEIGHTLESS_KEY",), code=3)
            check(p.stderr.startswith(b"weightless: not authorized (HTTP 401)"),
                  f"publish without key: {p.stderr}")
            p = cli("publish", tor, "--key", "wrong-key", code=3)
            check(b"(HTTP 401)" in p.stderr and b"refused" in p.stderr, "publish with a wrong key")
        p = cli("publish", tor, "--name", f"{tag} Llama", "--description", "weights for tests",
                "--publisher", "Weightless QA", "--license", "apache-2.0", "--category", "llm",
                "--tags", "test,cli,e2e")
        pub = kv(p.stdout)
        check(pub.get("published") == "created", f"publish status {pub}")
        check(pub.get("info hash") == v2 and pub.get("v1 info hash") == v1, f"publish hashes {pub}")
        check(pub.get("name") == f"{tag} Llama" and pub.get("publisher") == "Weightless QA" and
              pub.get("license") == "apache-2.0" and pub.get("category") == "llm" and
              pub.get("tags") == "test,cli,e2e", f"publish fields {pub}")
        size = sum(len(d) for d in files.values())
        check(pub.get("size", "").split(" ")[0] == str(size), f"size {pub.get('size')} != {size}")
        magnet_want = (f"magnet:?xt=urn:btih:{v1}&xt=urn:btmh:1220{v2}"
                       f"&dn={urllib.parse.quote(tag + ' Llama', safe='')}"
                       f"&tr={urllib.parse.quote(base + '/announce', safe='')}")
        check(pub.get("magnet") == magnet_want, f"publish magnet {pub.get('magnet')}")
        # a re-publish updates the entry (name and size come from the torrent unless given)
        p = cli("publish", tor, "--json", "--description", "updated description",
                "--name", f"{tag} Llama")
        j = json.loads(p.stdout)
        check(j["status"] == "updated" and j["entry"]["info_hash"] == v2 and
              j["entry"]["description"] == "updated description" and
              j["entry"]["name"] == f"{tag} Llama", f"publish --json {j}")

        bad = os.path.join(tmp, "bad.torrent")
        with open(bad, "wb") as f:
            f.write(b"d4:infod4:name1:xee")
        p = cli("publish", bad, code=5)
        check(p.stderr.startswith(f"weightless: {bad} is not a valid torrent".encode()),
              f"bad torrent: {p.stderr}")
        p = cli("publish", os.path.join(tmp, "missing.torrent"), code=4)
        check(b"cannot read" in p.stderr, "missing torrent file")

        # --- search
        p = cli("search", tag)
        out = p.stdout.decode()
        check(f"{tag} Llama" in out and v2 in out and "1 of 1 shown" in out, f"search: {out}")
        p = cli("search", tag.upper(), "--json")
        arr = json.loads(p.stdout)
        check(len(arr) == 1 and arr[0]["info_hash"] == v2 and arr[0]["v1_info_hash"] == v1,
              f"search --json {arr}")
        p = cli("search", tag, "--category", "llm", "--publisher", "Weightless QA",
                "--tags", "cli", "--sort", "seeders", "--limit", "5", "--json")
        check([e["info_hash"] for e in json.loads(p.stdout)] == [v2], "search with filters")
        p = cli("search", tag, "--category", "vision", "--json")
        check(json.loads(p.stdout) == [], "search by another category")
        p = cli("search", tag + "-nothing")
        check(p.stdout.decode().strip() == "no torrents match", "search without match")

        # --- info: entry and file tree, by v2 and by v1 hash
        p = cli("info", v2)
        out = p.stdout.decode()
        d = kv(p.stdout)
        check(d.get("info hash") == v2 and d.get("version") == "hybrid" and
              d.get("verified") == "no" and d.get("pieces") == str(ti.num_pieces()),
              f"info: {out}")
        for name in ("layer-0.bin", "layer-1.bin", "config.json", "README.md", "weights/",
                     "files (5)"):
            check(name in out, f"info file tree lacks {name}: {out}")
        check(".pad" not in out, "info lists pad files")
        p = cli("info", v1.upper(), "--json")
        j = json.loads(p.stdout)
        check(j["entry"]["info_hash"] == v2 and j["meta"]["version"] == "hybrid" and
              sorted(f["path"] for f in j["meta"]["files"]) ==
              sorted(r.split("/", 1)[1] for r in files), f"info --json {j}")
        p = cli("info", "0" * 64, code=3)
        check(p.stderr.startswith(b"weightless: not found (HTTP 404)"), f"info 404 {p.stderr}")

        # --- magnet
        p = cli("magnet", v2)
        m = p.stdout.decode().strip()
        check(m == magnet_want, f"magnet {m}")
        atp = lt.parse_magnet_uri(m)
        check(str(atp.info_hashes.v1) == v1 and str(atp.info_hashes.v2) == v2,
              "libtorrent reads other hashes from the magnet")
        p = cli("magnet", v1, "--tracker", "udp://t.example:6969")
        check(p.stdout.decode().strip().endswith("&tr=udp%3A%2F%2Ft.example%3A6969"),
              "magnet --tracker")
        p = cli("magnet", v2, "--no-tracker")
        check("&tr=" not in p.stdout.decode(), "magnet --no-tracker")

        # --- get: the stored bytes, checked against the hash asked for
        got = os.path.join(tmp, "got.torrent")
        p = cli("get", v2, "-o", got)
        check(open(got, "rb").read() == open(tor, "rb").read(), "get: bytes differ")
        check(p.stdout.startswith(f"wrote {got}".encode()), f"get output {p.stdout}")
        p = cli("get", v1, "-o", "-")
        check(p.stdout == open(tor, "rb").read(), "get -o -: bytes differ")
        cwd = os.path.join(tmp, "cwd")
        os.makedirs(cwd)
        subprocess.run([cli.path, "get", v2], cwd=cwd, env=cli.env, check=True,
                       capture_output=True)
        check(os.listdir(cwd) == [f"{tag} Llama.torrent"] or len(os.listdir(cwd)) == 1,
              f"get default name {os.listdir(cwd)}")
        cli("get", "1" * 40, "-o", os.path.join(tmp, "nope.torrent"), code=3)
        check(not os.path.exists(os.path.join(tmp, "nope.torrent")), "get 404 wrote a file")

        # --- verify
        p = cli("verify", v2)
        check(p.stdout.decode().strip() == f"{v2} is verified", f"verify {p.stdout}")
        check(kv(cli("info", v2).stdout).get("verified") == "yes", "verified flag not shown")
        if key:
            cli("verify", v2, unset=("WEIGHTLESS_KEY",), code=3)
        cli("verify", v2, "--revoke")
        check(kv(cli("info", v2).stdout).get("verified") == "no", "--revoke")
        cli("verify", v2)

        # --- a v1-only torrent: btih alone
        tor1 = os.path.join(tmp, f"{tag}-v1.torrent")
        p = cli("create", os.path.join(seed_dir, tag), "-o", tor1, "--v1", "--name", f"{tag}-v1",
                "--tracker", announce)
        h1 = kv(p.stdout)["v1 info hash"]
        p = cli("publish", tor1)
        check(kv(p.stdout).get("info hash") == h1 and "v1 info hash" not in kv(p.stdout),
              "v1-only publish")
        m = cli("magnet", h1).stdout.decode().strip()
        check(m.startswith(f"magnet:?xt=urn:btih:{h1}&dn=") and "btmh" not in m, f"v1 magnet {m}")

        # --- the swarm: seeder with the data, leecher with the torrent from `weightless get`
        leech_dir = os.path.join(tmp, "leech")
        os.makedirs(leech_dir)
        seeder_ses = lt_session(lt, "127.0.0.2")
        leecher_ses = lt_session(lt, "127.0.0.3")
        seeder = add(lt, seeder_ses, lt.torrent_info(tor), seed_dir)
        wait_for(lambda: seeder.status().is_seeding, 30, "the seeder to check its data")
        leecher = add(lt, leecher_ses, lt.torrent_info(got), leech_dir)
        seeder.force_reannounce()
        wait_for(lambda: leecher.status().is_seeding, 90,
                 "the leecher to complete through the tracker")
        for rel, data in files.items():
            with open(os.path.join(leech_dir, rel), "rb") as f:
                check(f.read() == data, f"{rel} differs after download")
        leecher.force_reannounce()
        # the registry's live figures lag the tracker by at most 5 s (API.md)
        def scrape(hexhash):
            b = bytes.fromhex(hexhash)[:20]
            q = "info_hash=" + "".join("%%%02X" % x for x in b)
            for _ in range(10):
                try:
                    body = urllib.request.urlopen(f"{base}/scrape?{q}", timeout=5).read()
                    return lt.bdecode(body)[b"files"].get(b, {})
                except urllib.error.HTTPError as e:  # 429: this IP shares a bucket with the CLI
                    if e.code != 429:
                        raise
                    time.sleep(1)
            return {}

        try:
            wait_for(lambda: scrape(v1).get(b"complete") == 2 and scrape(v2).get(b"complete") == 2,
                     20, "the tracker's scrape")
        except AssertionError:
            alerts = [a.message() for ses in (seeder_ses, leecher_ses) for a in ses.pop_alerts()
                      if "tracker" in a.what()]
            fail(f"the tracker's scrape does not show two seeders after 20 s: v1 {scrape(v1)}, "
                 f"v2 {scrape(v2)}; tracker alerts:\n" + "\n".join(alerts[-20:]))
        last = {}

        def registry_seeders():  # read from `weightless info`'s own output
            last.update(kv(cli("info", v2).stdout))
            return (last.get("seeders"), last.get("leechers"), last.get("completions")) == \
                ("2", "0", "1")

        try:
            wait_for(registry_seeders, 15, "the registry's live figures")
        except AssertionError:
            fail(f"registry figures stuck at seeders={last.get('seeders')} "
                 f"leechers={last.get('leechers')} completions={last.get('completions')} for 15 s "
                 f"while the scrape says v1 {scrape(v1)}, v2 {scrape(v2)}")
        print("libtorrent swarm from a CLI-made hybrid torrent completed through the tracker")
        seeder_ses.remove_torrent(seeder)
        leecher_ses.remove_torrent(leecher)

        # --- block, then publishing is refused, then unblock
        p = cli("block", v2, "--reason", "test block")
        check(p.stdout.decode().strip() == f"blocked {v2}: test block", f"block {p.stdout}")
        p = cli("info", v2, code=3)
        check(b"(HTTP 404)" in p.stderr, "blocked entry still there")
        p = cli("publish", tor, code=3)
        check(p.stderr.startswith(b"weightless: conflict (HTTP 409)") and b"blocked" in p.stderr,
              f"publish of a blocked hash: {p.stderr}")
        if key:
            cli("unblock", v2, unset=("WEIGHTLESS_KEY",), code=3)
        p = cli("unblock", v2)
        check(p.stdout.decode().strip() == f"unblocked {v2}", "unblock")
        p = cli("publish", tor)
        check(kv(p.stdout).get("published") == "created", "publish after unblock")
        cli("block", v2, "--reason", "cleanup")
        cli("block", h1, "--reason", "cleanup")
        print(f"weightless commands: {CHECKS} checks passed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
