#!/usr/bin/python3
"""Registry search latency on a large registry (issue 3's "Done when").

    /usr/bin/python3 bench/registry_search.py [--build build] [--entries 1000000] [--runs 300]
                                              [--data DIR] [--keep]

1. Lets wl-registry create its schema in a fresh data directory (start, then SIGTERM), so the
   benchmark runs on exactly the service's tables, indexes, FTS5 trigram index and triggers.
2. Generates N entries directly into <data>/registry.db with Python's sqlite3 (names built from
   model/dataset words, 3 categories, 40 publishers, tags, Zipf-like seeders and completions,
   creation times spread over a year in insertion order as the service stamps them; 1/3
   v1-only, 2/3 hybrid).
3. Starts the whole stack on that directory (scripts/run-stack: private Redis, registry, one
   announce worker, gateway on a free loopback port, rate limiting off) and measures, through
   the HTTP API with one keep-alive connection, the latency of each query kind: p50, p99 and
   max over --runs requests with varying parameters, after a warm-up.
4. Prints a table, stops the stack, removes the data directory (unless --keep or --data).

Queries: a substring of the name (q, 3+ characters: FTS5 trigram), a short q (LIKE fallback),
a category filter sorted by seeders (and at a deep offset), a deep offset (N/2..N) in the
default order, a publisher filter sorted by completions, q + category + sort=seeders (q of 3+
and of 2 characters), and a tag filter.
"""
import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

FAMILIES = ["llama", "mistral", "mixtral", "falcon", "bert", "roberta", "gpt2", "gpt-neox", "t5",
            "flan-t5", "whisper", "stable-diffusion", "sdxl", "clip", "vit", "resnet", "yolo",
            "qwen", "gemma", "phi", "bloom", "opt", "pythia", "codegen", "starcoder", "deepseek",
            "imagenet", "coco", "laion", "common-crawl", "wikipedia", "openwebtext", "the-pile",
            "redpajama", "c4", "librispeech", "audioset", "kinetics", "squad", "mmlu"]
VARIANTS = ["base", "instruct", "chat", "code", "vision", "large", "small", "tiny", "xl", "raw",
            "dedup", "filtered", "v2", "v3", "sharded"]
FORMATS = ["fp16", "bf16", "fp32", "int8", "q4_k_m", "gguf", "safetensors", "parquet", "tar",
           "jsonl"]
WORDS = [w for w in FAMILIES + VARIANTS if len(w) >= 3]  # q of 3+ characters: the FTS index
CATEGORIES = ["models", "datasets", "tools"]
PUBLISHERS = ["org-%02d" % i for i in range(40)]
TAGS = ["llm", "vision", "audio", "nlp", "fp16", "int8", "research", "commercial", "benchmark",
        "multilingual"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def find_binary(build, name):
    for dirpath, _, files in os.walk(os.path.join(build, "services")):
        if name in files:
            return os.path.join(dirpath, name)
    sys.exit(f"bench: {name} not found under {build}/services (build it first)")


def create_schema(build, data):
    env = dict(os.environ, WL_DATA_DIR=data, WL_LOG_LEVEL="warn")
    p = subprocess.Popen([find_binary(build, "wl-registry")], env=env)
    db = os.path.join(data, "registry.db")
    for _ in range(100):
        time.sleep(0.05)
        if os.path.exists(db):
            try:
                c = sqlite3.connect(db, timeout=5)
                v = c.execute("PRAGMA user_version").fetchone()[0]
                c.close()
                if v >= 1:
                    break
            except sqlite3.Error:
                pass
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
    return db


def generate(db, n, seed=1):
    rnd = random.Random(seed)
    c = sqlite3.connect(db)
    c.execute("PRAGMA synchronous = OFF")
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA cache_size = -262144")
    now = int(time.time() * 1000)
    year = 365 * 24 * 3600 * 1000
    t0 = time.time()
    batch = []

    def flush():
        c.executemany(
            "INSERT INTO entries(info_hash, v1_info_hash, swarm_v1, swarm_v2, name, description,"
            " publisher, license, size, category, tags, verified, completions, seeders, leechers,"
            " created_at, updated_at, ih_key) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", batch)
        batch.clear()

    c.execute("BEGIN")
    for i in range(n):
        h = rnd.getrandbits(256).to_bytes(32, "big")
        if i % 3 == 0:  # v1-only
            ih, v1, sw1, sw2 = h[:20].hex(), None, h[:20], None
        else:
            v1b = rnd.getrandbits(160).to_bytes(20, "big")
            ih, v1, sw1, sw2 = h.hex(), v1b.hex(), v1b, h[:20]
        fam = rnd.choice(FAMILIES)
        name = "%s-%d-%s-%s" % (fam, rnd.choice([1, 2, 3, 7, 8, 13, 34, 70, 180]),
                                rnd.choice(VARIANTS), rnd.choice(FORMATS))
        if rnd.random() < 0.5:
            name = name.replace("-", " ").title()
        seeders = int(rnd.paretovariate(1.2)) - 1
        completions = seeders * rnd.randint(1, 50) + int(rnd.paretovariate(1.1)) - 1
        created = now - year + i * year // n  # the service stamps entries as they come
        key = int.from_bytes(h[:8], "big") ^ (1 << 63)  # entries.ih_key: info_hash order
        key = key - (1 << 64) if key >= 1 << 63 else key
        batch.append((ih, v1, sw1, sw2, name, None, rnd.choice(PUBLISHERS), "apache-2.0",
                      rnd.randint(1 << 20, 1 << 40), rnd.choice(CATEGORIES),
                      ",".join(rnd.sample(TAGS, 2)), int(rnd.random() < 0.1), completions,
                      seeders, rnd.randint(0, 5), created, created, key))
        if len(batch) == 10000:
            flush()
            if (i + 1) % 100000 == 0:
                rate = (i + 1) / (time.time() - t0)
                print(f"  {i + 1:>9,} entries ({rate:,.0f}/s)", flush=True)
    flush()
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return time.time() - t0


def start_stack(build, data):
    port, redis_port = free_port(), free_port()
    env = dict(os.environ, WL_DATA_DIR=data, WL_BUILD_DIR=build, WL_HTTP_ADDR=f"127.0.0.1:{port}",
               WL_REDIS_PORT=str(redis_port), WL_RATE_LIMIT_RPS="0", WL_ANNOUNCE_WORKERS="1",
               WL_LOG_LEVEL="warn")
    log = open(os.path.join(data, "stack.log"), "w")
    p = subprocess.Popen([os.path.join(ROOT, "scripts", "run-stack")], env=env, stdout=log,
                         stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        time.sleep(0.1)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return p, port
        except OSError:
            pass
    p.send_signal(signal.SIGTERM)
    sys.exit(f"bench: the stack did not start; see {data}/stack.log")


def stop_stack(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)


def measure(port, make_query, runs, rnd):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, totals = [], []
    for i in range(runs + 10):
        q = make_query(rnd)
        t = time.perf_counter()
        conn.request("GET", "/api/registry/search?" + urllib.parse.urlencode(q))
        r = conn.getresponse()
        body = r.read()
        dt = (time.perf_counter() - t) * 1000
        if r.status != 200:
            sys.exit(f"bench: {q}: HTTP {r.status} {body[:200]!r}")
        if i >= 10:  # warm-up
            times.append(dt)
            totals.append(int(r.getheader("X-Total-Count")))
    conn.close()
    times.sort()

    def pct(p):
        return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]

    return pct(50), pct(99), times[-1], sorted(totals)[len(totals) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--entries", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--data", help="use (and keep) this data directory; reuse its registry.db "
                                   "if it already holds --entries entries")
    ap.add_argument("--keep", action="store_true", help="keep the generated data directory")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    data = os.path.abspath(a.data) if a.data else tempfile.mkdtemp(prefix="wl-bench-registry-")
    os.makedirs(data, exist_ok=True)
    db = os.path.join(data, "registry.db")
    have = 0
    if os.path.exists(db):
        try:
            have = sqlite3.connect(db).execute("SELECT count(*) FROM entries").fetchone()[0]
        except sqlite3.Error:
            have = 0
    if have != a.entries:
        for f in os.listdir(data):
            if f.startswith("registry.db"):
                os.unlink(os.path.join(data, f))
        print(f"creating the schema with wl-registry in {data}")
        create_schema(build, data)
        print(f"generating {a.entries:,} entries")
        secs = generate(db, a.entries)
        print(f"generated in {secs:.0f} s; database {os.path.getsize(db) / 2**20:.0f} MiB")
    else:
        print(f"reusing {db} ({have:,} entries)")

    p, port = start_stack(build, data)
    n = a.entries
    kinds = [
        ("q=<word> (substring, FTS5 trigram)",
         lambda r: {"q": r.choice(WORDS)}),
        ("q=<word> rare (substring, FTS5 trigram)",
         lambda r: {"q": "%s-%d-%s" % (r.choice(FAMILIES), r.choice([7, 13]), r.choice(VARIANTS))}),
        ("q=<2 chars> (LIKE fallback)",
         lambda r: {"q": r.choice(["ll", "gp", "t5", "vi", "xl", "q4"])}),
        ("category=<c>&sort=seeders",
         lambda r: {"category": r.choice(CATEGORIES), "sort": "seeders"}),
        ("category=<c>&sort=seeders&offset=<deep>",
         lambda r: {"category": r.choice(CATEGORIES), "sort": "seeders",
                    "offset": r.randint(n // 6, n // 3 - 100)}),
        (f"offset=<{n // 2:,}..N> (created_at)",
         lambda r: {"offset": r.randint(n // 2, n - 100)}),
        ("publisher=<p>&sort=completions",
         lambda r: {"publisher": r.choice(PUBLISHERS), "sort": "completions"}),
        ("q=<word>&category=<c>&sort=seeders",
         lambda r: {"q": r.choice(WORDS), "category": r.choice(CATEGORIES), "sort": "seeders"}),
        ("q=<2 chars>&category=<c>&sort=seeders",
         lambda r: {"q": r.choice(["t5", "c4", "ll", "xl"]), "category": r.choice(CATEGORIES),
                    "sort": "seeders"}),
        ("tags=<t>&sort=seeders",
         lambda r: {"tags": r.choice(TAGS), "sort": "seeders"}),
    ]
    rows = []
    try:
        for label, make in kinds:
            p50, p99, mx, total = measure(port, make, a.runs, random.Random(7))
            rows.append((label, p50, p99, mx, total))
            print(f"  {label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms", flush=True)
    finally:
        stop_stack(p)
    print()
    print(f"Registry search latency, {n:,} entries, {a.runs} requests per row, one keep-alive "
          f"HTTP connection through the gateway ({os.cpu_count()} CPUs)")
    print(f"{'query':<44} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'matches (median)':>17}")
    for label, p50, p99, mx, total in rows:
        print(f"{label:<44} {p50:>8.2f} {p99:>8.2f} {mx:>8.2f} {total:>17,}")
    if not a.keep and not a.data:
        shutil.rmtree(data, ignore_errors=True)
    else:
        print(f"data kept in {data}")


if __name__ == "__main__":
    main()
