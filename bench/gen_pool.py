#!/usr/bin/env python3
"""Writes N deterministic 40-hex info hashes (one per line): the swarm pool shared by the wrk
scripts and opentracker's whitelist. Usage: gen_pool.py N FILE"""
import hashlib
import sys

n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    for i in range(n):
        f.write(hashlib.sha1(b"weightless-bench-%d" % i).hexdigest() + "\n")
