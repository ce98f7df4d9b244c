#!/usr/bin/python3
"""Development-only stand-in for the Weightless gateway, for working on the web UI without the
C services: serves web/ the way the gateway does ("/" and "/entry/<hash>" answer index.html,
"/assets/<file>" the file with its content type and an ETag, everything else 404) and keeps an
in-memory fake of the registry API of docs API.md (search with X-Total-Count, entry, meta,
torrent download, POST of entries and .torrent files) plus a bare /announce that counts seeders,
leechers and completions so the sorts have something to sort by. Not used by `make test`
except through `test_webui.py --mock`.

    /usr/bin/python3 tests/e2e/webui_mock.py [--port 8080] [--key KEY] [--rate-limit 5/10]
"""
import argparse
import datetime
import hashlib
import json
import mimetypes
import os
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
WEB_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "web"))
HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
CTYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png"}


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"


class Registry:
    """The registry's state; one lock, since the handler threads share it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}    # info_hash -> entry dict (public fields) + "_torrent"
        self.swarms = {}     # 20-byte hash -> {(ip, port): left}
        self.completed = {}  # 20-byte hash -> count

    def swarm_keys(self, e):
        ih = e["info_hash"]
        keys = [bytes.fromhex(ih)[:20]]
        if e.get("v1_info_hash"):
            keys.append(bytes.fromhex(e["v1_info_hash"]))
        return keys

    def public(self, e):
        out = {k: v for k, v in e.items() if not k.startswith("_")}
        seeders = leechers = completions = 0
        for k in self.swarm_keys(e):
            peers = self.swarms.get(k, {})
            seeders = max(seeders, sum(1 for left in peers.values() if left == 0))
            leechers = max(leechers, sum(1 for left in peers.values() if left > 0))
            completions = max(completions, self.completed.get(k, 0))
        out.update(seeders=seeders, leechers=leechers, completions=completions)
        return out

    def find(self, h):
        h = h.lower()
        if h in self.entries:
            return self.entries[h]
        for e in self.entries.values():
            if e.get("v1_info_hash") == h:
                return e
        return None

    def upsert(self, fields):
        ih = fields["info_hash"].lower()
        with self.lock:
            e = self.entries.get(ih)
            created = e is None
            if created:
                now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
                e = {"info_hash": ih, "verified": False, "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
                self.entries[ih] = e
            for k, v in fields.items():
                if k != "info_hash" and v is not None:
                    e[k] = v
            return created, e


def torrent_meta(data):
    """Parse a .torrent with libtorrent into the /api/registry/meta shape (raises ValueError)."""
    import libtorrent as lt
    try:
        ti = lt.torrent_info(lt.bdecode(data))
    except Exception as ex:  # libtorrent raises RuntimeError and friends
        raise ValueError(f"not a valid torrent file: {ex}") from None
    ih = ti.info_hashes()
    fs = ti.files()
    files = []
    multi = fs.num_files() > 1 or "/" in fs.file_path(0).replace(os.sep, "/")
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        p = fs.file_path(i).replace(os.sep, "/")
        if multi and p.startswith(ti.name() + "/"):
            p = p[len(ti.name()) + 1:]
        files.append({"path": p, "length": fs.file_size(i)})
    version = "hybrid" if ih.has_v1() and ih.has_v2() else ("v2" if ih.has_v2() else "v1")
    meta = {"name": ti.name(), "piece_length": ti.piece_length(), "piece_count": ti.num_pieces(),
            "total_size": sum(f["length"] for f in files), "files": files, "version": version}
    if ih.has_v2():
        meta["info_hash"] = str(ih.v2)
        if ih.has_v1():
            meta["v1_info_hash"] = str(ih.v1)
    else:
        meta["info_hash"] = str(ih.v1)
    return meta


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webui-mock"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            super().log_message(fmt, *args)

    # --- answers ---------------------------------------------------------------------------
    def send(self, status, body=b"", ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, msg):
        self.send(status, {"error": msg})

    def body(self, limit):
        n = int(self.headers.get("Content-Length") or 0)
        if n > limit:
            self.error(413, "the request body is too large")
            return None
        return self.rfile.read(n)

    def authorized(self):
        key = self.server.key
        if key and self.headers.get("X-Weightless-Key") != key:
            self.error(401, "X-Weightless-Key is missing or wrong")
            return False
        return True

    def rate_limited(self):
        """The gateway's token bucket (API.md "Rate limiting"), when the mock is started with one."""
        rl = self.server.rate
        if not rl:
            return False
        rps, burst = rl
        now = time.monotonic()
        with self.server.registry.lock:
            tokens, last = self.server.buckets.get(self.client_address[0], (burst, now))
            tokens = min(burst, tokens + (now - last) * rps)
            ok = tokens >= 1
            self.server.buckets[self.client_address[0]] = (tokens - 1 if ok else tokens, now)
        if ok:
            return False
        if self.path.startswith("/announce"):
            self.send(200, bencode({"failure reason": "Rate limit exceeded. Please slow down."}), "text/plain")
        else:
            self.send(429, {"error": "rate limit exceeded, please slow down"}, headers={"Retry-After": "1"})
        return True

    # --- routing ---------------------------------------------------------------------------
    def do_GET(self):
        if self.rate_limited():
            return
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        one = lambda k: (q.get(k) or [None])[0]
        path = u.path
        if path == "/" or re.fullmatch(r"/entry/[^/]+", path):
            return self.static("index.html")
        if path.startswith("/assets/") and "/" not in path[8:] and not path[8:].startswith("."):
            return self.static("assets/" + path[8:])
        if path == "/health":
            return self.send(200, b"OK", "text/plain")
        if path == "/announce":
            return self.announce(u.query)
        reg = self.server.registry
        if path == "/api/registry/search":
            return self.search(one)
        if path in ("/api/registry", "/api/registry/meta", "/api/registry/torrent"):
            h = one("info_hash")
            if not h:
                return self.error(400, "info_hash is required")
            if not (HEX40.match(h) or HEX64.match(h)):
                return self.error(400, "info_hash must be 40 or 64 hexadecimal characters")
            if self.server.fail_status:
                return self.error(self.server.fail_status, "the registry is unavailable")
            with reg.lock:
                e = reg.find(h)
                e = dict(e) if e else None
                pub = reg.public(e) if e else None
            if not e:
                return self.error(404, "no registry entry has this info_hash")
            if path == "/api/registry":
                return self.send(200, pub)
            if not e.get("_torrent"):
                return self.error(404, "no torrent file is stored for this entry")
            if path == "/api/registry/meta":
                return self.send(200, e["_meta"])
            fname = re.sub(r'["\\\r\n]', "_", e["name"])
            return self.send(200, e["_torrent"], "application/x-bittorrent",
                             {"Content-Disposition": f'attachment; filename="{fname}.torrent"'})
        return self.error(404, "not found")

    do_HEAD = do_GET

    def do_POST(self):
        if self.rate_limited():
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        reg = self.server.registry
        if u.path == "/api/registry":
            if not self.authorized():
                return
            raw = self.body(1 << 20)
            if raw is None:
                return
            try:
                doc = json.loads(raw)
            except ValueError:
                return self.error(400, "the body is not JSON")
            if not isinstance(doc, dict):
                return self.error(400, "the body must be a JSON object")
            ih = doc.get("info_hash")
            if not isinstance(ih, str) or not (HEX40.match(ih) or HEX64.match(ih)):
                return self.error(400, "info_hash must be 40 or 64 hexadecimal characters")
            if not isinstance(doc.get("name"), str) or not doc["name"]:
                return self.error(400, "name is required")
            fields = {"info_hash": ih}
            for k in ("name", "description", "publisher", "license", "category", "tags"):
                if k in doc:
                    if not isinstance(doc[k], str):
                        return self.error(400, f"{k} must be a string")
                    fields[k] = doc[k]
            if "size" in doc:
                if not isinstance(doc["size"], int) or doc["size"] < 0:
                    return self.error(400, "size must be a non-negative integer")
                fields["size"] = doc["size"]
            if isinstance(doc.get("v1_info_hash"), str) and HEX40.match(doc["v1_info_hash"]):
                fields["v1_info_hash"] = doc["v1_info_hash"].lower()
            created, _ = reg.upsert(fields)
            return self.send(201, {"status": "created" if created else "updated"})
        if u.path == "/api/registry/torrent":
            if not self.authorized():
                return
            raw = self.body(64 << 20)
            if raw is None:
                return
            try:
                meta = torrent_meta(raw)
            except ValueError as ex:
                return self.error(400, str(ex))
            fields = {"info_hash": meta["info_hash"], "name": meta["name"], "size": meta["total_size"],
                      "_torrent": raw, "_meta": meta}
            if meta.get("v1_info_hash"):
                fields["v1_info_hash"] = meta["v1_info_hash"]
            for k in ("name", "description", "publisher", "license", "category", "tags"):
                if k in q:
                    fields[k] = q[k]
            reg.upsert(fields)
            out = {"status": "created", "info_hash": meta["info_hash"]}
            if meta.get("v1_info_hash"):
                out["v1_info_hash"] = meta["v1_info_hash"]
            return self.send(201, out)
        if u.path == "/api/registry/verify":
            if not self.authorized():
                return
            with reg.lock:
                e = reg.find(q.get("info_hash", ""))
                if not e:
                    return self.error(404, "no registry entry has this info_hash")
                e["verified"] = q.get("verified") == "true"
            return self.send(200, {"status": "updated"})
        return self.error(404, "not found")

    # --- handlers --------------------------------------------------------------------------
    def static(self, rel):
        full = os.path.normpath(os.path.join(self.server.web_dir, rel))
        if not full.startswith(self.server.web_dir + os.sep) or not os.path.isfile(full):
            return self.error(404, "not found")
        with open(full, "rb") as f:
            data = f.read()
        etag = '"%s"' % hashlib.sha1(data).hexdigest()[:20]
        cache = "no-cache" if rel == "index.html" else "public, max-age=300"
        if self.headers.get("If-None-Match") == etag:
            return self.send(304, b"", CTYPES.get(os.path.splitext(rel)[1], "application/octet-stream"),
                             {"ETag": etag, "Cache-Control": cache})
        ctype = CTYPES.get(os.path.splitext(rel)[1]) or mimetypes.guess_type(rel)[0] or "application/octet-stream"
        self.send(200, data, ctype, {"ETag": etag, "Cache-Control": "no-cache" if self.server.dev else cache})

    def search(self, one):
        if self.server.fail_status:
            return self.error(self.server.fail_status, "the registry is unavailable")
        sort = one("sort") or "created_at"
        if sort not in ("created_at", "completions", "seeders"):
            return self.error(400, "sort must be created_at, completions or seeders")
        try:
            limit = int(one("limit") or 50)
            offset = int(one("offset") or 0)
            if limit < 0 or offset < 0:
                raise ValueError
        except ValueError:
            return self.error(400, "limit and offset must be non-negative integers")
        limit = min(limit, 100)
        qs, cat, pub, tag = (one("q") or "").lower(), one("category"), one("publisher"), one("tags")
        reg = self.server.registry
        with reg.lock:
            rows = [reg.public(e) for e in reg.entries.values()]
        rows = [e for e in rows if qs in e["name"].lower()
                and (cat is None or e.get("category") == cat)
                and (pub is None or e.get("publisher") == pub)
                and (tag is None or tag in (e.get("tags") or ""))]
        rows.sort(key=lambda e: e["info_hash"])  # ties: info_hash ascending
        rows.sort(key=lambda e: e[sort], reverse=True)
        self.send(200, rows[offset:offset + limit], headers={"X-Total-Count": str(len(rows))})

    def announce(self, query):
        params = {}
        for part in query.split("&"):
            k, _, v = part.partition("=")
            params[k] = urllib.parse.unquote_to_bytes(v)
        ih = params.get("info_hash", b"")
        if len(ih) != 20 or "port" not in params:
            return self.send(200, bencode({"failure reason": "info_hash and port are required"}), "text/plain")
        port, left = int(params["port"]), int(params.get("left", b"0"))
        event = params.get("event", b"").decode()
        reg = self.server.registry
        with reg.lock:
            peers = reg.swarms.setdefault(ih, {})
            key = (self.client_address[0], port)
            if event == "stopped":
                peers.pop(key, None)
            else:
                if event == "completed" and left == 0:
                    reg.completed[ih] = reg.completed.get(ih, 0) + 1
                peers[key] = left
            complete = sum(1 for x in peers.values() if x == 0)
            incomplete = len(peers) - complete
        self.send(200, bencode({"interval": 1800, "min interval": 900, "complete": complete,
                                "incomplete": incomplete, "peers": b""}), "text/plain")


def start(port=0, key="", web_dir=WEB_DIR, verbose=False, dev=False, rate=None):
    """Start the mock in a daemon thread; returns the server (base URL in server.base_url).
    rate=(rps, burst) plays the gateway's per-IP rate limit; None turns it off."""
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.registry = Registry()
    srv.key = key
    srv.web_dir = os.path.abspath(web_dir)
    srv.verbose = verbose
    srv.dev = dev
    srv.fail_status = 0  # set to 503 to play a registry that is down
    srv.rate = rate
    srv.buckets = {}
    srv.base_url = "http://127.0.0.1:%d" % srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--key", default="", help="REGISTRY_KEY for POSTs (default: none required)")
    ap.add_argument("--web", default=WEB_DIR, help="the web/ directory to serve")
    ap.add_argument("--rate-limit", metavar="RPS/BURST", help="per-IP rate limit, e.g. 5/10 (default: off)")
    args = ap.parse_args()
    rate = tuple(float(x) for x in args.rate_limit.split("/")) if args.rate_limit else None
    srv = start(args.port, args.key, args.web, verbose=True, dev=True, rate=rate)
    print(f"webui mock on {srv.base_url} (web: {srv.web_dir}); Ctrl-C stops it", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
