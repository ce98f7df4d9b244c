"""e2e: a real BitTorrent client (Debian's python3-libtorrent) seeds a small multi-file torrent
and a leecher downloads it through the tracker on loopback; the files must be byte-identical,
and a scrape must agree with the swarm. Usage: test_libtorrent_swarm.py STACK_DIR BUILD_DIR"""
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request

import libtorrent as lt

from wlstack import add, fail, load_env, lt_session, wait_for


def make_tree(root):
    os.makedirs(os.path.join(root, "weights", "layers"))
    rnd = os.urandom
    files = {
        "weights/layers/0.bin": rnd(700_000),
        "weights/layers/1.bin": rnd(300_001),
        "weights/config.json": b'{"dim": 4096}',
        "README.md": b"# a model\n",
    }
    for rel, data in files.items():
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
    return files


def main():
    env = load_env(sys.argv[1])
    base = env["WL_TEST_HTTP"]
    tmp = tempfile.mkdtemp(prefix="wl-e2e-")
    try:
        seed_dir = os.path.join(tmp, "seed")
        leech_dir = os.path.join(tmp, "leech")
        os.makedirs(seed_dir)
        os.makedirs(leech_dir)
        content = os.path.join(seed_dir, "model")
        files = make_tree(content)

        fs = lt.file_storage()
        lt.add_files(fs, content)
        ct = lt.create_torrent(fs, 32768, flags=lt.create_torrent.v1_only)
        ct.add_tracker(base + "/announce")
        lt.set_piece_hashes(ct, seed_dir)
        ti = lt.torrent_info(lt.bencode(ct.generate()))
        ih = ti.info_hashes().v1.to_bytes()

        seeder_ses = lt_session(lt, "127.0.0.2")
        leecher_ses = lt_session(lt, "127.0.0.3")
        seeder = add(lt, seeder_ses, ti, seed_dir, seed_mode=True)
        wait_for(lambda: seeder.status().is_seeding, 20, "the seeder to be seeding")
        leecher = add(lt, leecher_ses, ti, leech_dir)
        seeder.force_reannounce()
        wait_for(lambda: leecher.status().is_seeding, 60,
                 "the leecher to complete (peers come only from the tracker)")

        for rel, data in files.items():
            with open(os.path.join(leech_dir, "model", rel), "rb") as f:
                got = f.read()
            if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
                fail(f"{rel} differs after download")

        # the leecher announces completion; the scrape then shows two seeders, one download
        leecher.force_reannounce()

        def scrape():
            q = "info_hash=" + "".join("%%%02X" % b for b in ih)
            req = urllib.request.Request(base + "/scrape?" + q)
            body = urllib.request.urlopen(req, timeout=5).read()
            d = lt.bdecode(body)
            return d[b"files"].get(ih, {}) if d and b"files" in d else {}

        wait_for(lambda: scrape().get(b"complete") == 2 and scrape().get(b"downloaded") == 1, 20,
                 "scrape to show 2 seeders and 1 completion")
        print("libtorrent swarm completed through the tracker; scrape:", scrape())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
