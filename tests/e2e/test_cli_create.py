"""e2e: `weightless create` against Debian's python3-libtorrent 2.0.8.

For generated trees (a single file, nested directories, files smaller than a 16 KiB block,
files of exact block and piece multiples, empty files in every position, an executable file,
hidden and non-ASCII names) and several piece sizes, the CLI's v1, v2 and hybrid torrents must
have the info hashes libtorrent computes for the same files and settings:
  v2     create_torrent(fs, piece, v2_only)
  hybrid create_torrent(fs, piece, canonical_files_no_tail_padding)  (pads before each
         unaligned non-empty file, none after the last; see docs/cli.md)
  v1     create_torrent(fs, piece, v1_only) with the files added in the CLI's order
and the same `piece layers`. libtorrent must then find the data complete (a full recheck of
the CLI's hybrid and v2 torrents). Also: auto piece size, symlinks, hidden files, empty
directories, optional fields, -o -, thread counts, progress output, exit codes.

Usage: test_cli_create.py STACK_DIR BUILD_DIR (the stack is not needed)."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import libtorrent as lt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wlstack import add, fail, lt_session, wait_for  # noqa: E402

BLOCK = 16384
CHECKS = 0


def check(cond, msg):
    global CHECKS
    CHECKS += 1
    if not cond:
        fail(msg)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def rnd(n):
    return os.urandom(n)


def tree_single(root):
    write(os.path.join(root, "model.safetensors"), rnd(5 * BLOCK + 1234))
    return os.path.join(root, "model.safetensors")


def tree_tiny_single(root):
    write(os.path.join(root, "tiny.bin"), rnd(100))
    return os.path.join(root, "tiny.bin")


def tree_nested(root):
    d = os.path.join(root, "llm-7b")
    write(os.path.join(d, "config.json"), b'{"dim": 4096, "layers": 32}\n')
    write(os.path.join(d, "tokenizer", "vocab.txt"), rnd(3000))
    write(os.path.join(d, "tokenizer", "merges.txt"), rnd(BLOCK))          # exactly one block
    write(os.path.join(d, "weights", "layer-00.bin"), rnd(4 * 65536))      # piece multiple
    write(os.path.join(d, "weights", "layer-01.bin"), rnd(3 * 65536 + 77))
    write(os.path.join(d, "weights", "deep", "a", "b", "c.bin"), rnd(200_000))
    write(os.path.join(d, "a-b"), b"xyz")                                  # sorts after a/ ...
    write(os.path.join(d, "a.txt"), rnd(20_000))                           # ... and before this
    write(os.path.join(d, "a", "b"), rnd(20_000))
    write(os.path.join(d, "Zeta.bin"), rnd(9))                             # capitals first
    write(os.path.join(d, "données", "café.txt"), "naïve ✓".encode())     # UTF-8 names
    return d


def tree_small_files(root):
    d = os.path.join(root, "small")
    for i in range(40):
        write(os.path.join(d, f"part-{i:03d}.txt"), rnd(1 + i * 37))
    write(os.path.join(d, "one-byte"), b"x")
    return d


def tree_empty_files(root):
    d = os.path.join(root, "with-empties")
    write(os.path.join(d, "0-empty-first"), b"")
    write(os.path.join(d, "1-data"), rnd(40_000))          # unaligned, followed by an empty file
    write(os.path.join(d, "2-empty-middle"), b"")
    write(os.path.join(d, "3-data"), rnd(70_000))
    write(os.path.join(d, "sub", "empty"), b"")
    write(os.path.join(d, "sub", "x"), rnd(5))
    write(os.path.join(d, "zz-empty-last"), b"")           # last file empty
    return d


def tree_exact(root):
    d = os.path.join(root, "exact")
    write(os.path.join(d, "block"), rnd(BLOCK))
    write(os.path.join(d, "piece"), rnd(32768))
    write(os.path.join(d, "pieces-3"), rnd(3 * 32768))
    write(os.path.join(d, "pieces-8"), rnd(8 * 32768))
    write(os.path.join(d, "pieces-9"), rnd(9 * 32768))
    return d


def tree_one_file_dir(root):
    d = os.path.join(root, "one-file-dir")
    write(os.path.join(d, "model.bin"), rnd(3 * 32768 + 5))
    return d


def tree_exec_hidden(root):
    d = os.path.join(root, "tools")
    write(os.path.join(d, ".hidden"), rnd(10))
    write(os.path.join(d, ".cache", "blob"), rnd(100))
    write(os.path.join(d, "run.sh"), b"#!/bin/sh\necho hi\n")
    os.chmod(os.path.join(d, "run.sh"), 0o755)
    write(os.path.join(d, "weights.bin"), rnd(100_000))
    return d


def sorted_files(path):
    """The CLI's order: component by component, by bytes."""
    base = os.path.dirname(os.path.abspath(path))
    if os.path.isfile(path):
        return [(os.path.basename(path), os.path.getsize(path), os.access(path, os.X_OK))]
    out = []
    for dp, _dn, fn in os.walk(path):
        for f in fn:
            full = os.path.join(dp, f)
            out.append((os.path.relpath(full, base), os.path.getsize(full),
                        bool(os.stat(full).st_mode & stat.S_IXUSR)))
    return sorted(out, key=lambda t: [c.encode() for c in t[0].split("/")])


def lt_reference(path, piece, mode):
    """libtorrent's torrent for the same files: (info_hashes, generated dict)."""
    fs = lt.file_storage()
    if mode == "v1":
        for rel, size, x in sorted_files(path):
            fs.add_file(rel, size, lt.file_storage.flag_executable if x else 0)
        flags = lt.create_torrent.v1_only
    else:
        lt.add_files(fs, path)
        flags = (lt.create_torrent.v2_only if mode == "v2"
                 else lt.create_torrent.canonical_files_no_tail_padding)
    ct = lt.create_torrent(fs, piece, flags)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    gen = ct.generate()
    return lt.torrent_info(lt.bencode(gen)).info_hashes(), gen


def run(cli, *args, ok=True, env=None):
    p = subprocess.run([cli, *args], capture_output=True, env=env, timeout=600)
    if ok and p.returncode != 0:
        fail(f"weightless {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
    return p


def parse_kv(out):
    d = {}
    for line in out.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


_SESSION = []


def session():
    """One libtorrent session for every recheck (starting one costs about a second)."""
    if not _SESSION:
        _SESSION.append(lt_session(lt))
    return _SESSION[0]


def compare(cli, tmp, path, piece, mode, recheck=False):
    out = os.path.join(tmp, f"cli-{os.path.basename(path)}-{mode}-{piece}.torrent")
    p = run(cli, "create", path, "-o", out, "--" + mode, "--piece-size", str(piece), "--no-date")
    kv = parse_kv(p.stdout)
    # create runs the registry's own parser (libcommon torrent.c) on what it wrote
    check(b"does not pass the registry's checks" not in p.stderr,
          f"{os.path.basename(path)} {mode} piece {piece}: {p.stderr.decode().strip()}")
    mine = lt.torrent_info(out)
    ref, gen = lt_reference(path, piece, mode)
    ih = mine.info_hashes()
    what = f"{os.path.basename(path)} {mode} piece {piece}"
    if mode in ("v1", "hybrid"):
        check(ih.has_v1() and ih.v1 == ref.v1,
              f"{what}: v1 info hash {ih.v1} != libtorrent {ref.v1}")
        check(kv.get("v1 info hash") == str(ih.v1),
              f"{what}: printed v1 hash {kv.get('v1 info hash')}")
    else:
        check(not ih.has_v1(), f"{what}: a v2-only torrent has a v1 hash")
    if mode in ("v2", "hybrid"):
        check(ih.has_v2() and ih.v2 == ref.v2,
              f"{what}: v2 info hash {ih.v2} != libtorrent {ref.v2}")
        check(kv.get("v2 info hash") == str(ih.v2),
              f"{what}: printed v2 hash {kv.get('v2 info hash')}")
        with open(out, "rb") as f:
            d = lt.bdecode(f.read())
        check(d.get(b"piece layers", {}) == gen.get(b"piece layers", {}),
              f"{what}: piece layers differ from libtorrent's")
    else:
        check(not ih.has_v2(), f"{what}: a v1-only torrent has a v2 hash")
    check(mine.piece_length() == piece, f"{what}: piece length {mine.piece_length()}")
    if recheck:
        ses = session()
        save = os.path.dirname(os.path.abspath(path))
        if mode == "v2" and os.path.isdir(path) and len(os.listdir(path)) == 1:
            # BEP 52 cannot tell a directory of one file from that file: libtorrent reads the
            # torrent as the single file (create warns about it)
            save = path
            check(b"holds one file" in p.stderr, f"{what}: no warning about a one-file directory")
        h = add(lt, ses, lt.torrent_info(out), save)
        wait_for(lambda: h.status().state == lt.torrent_status.seeding or h.status().is_seeding,
                 60, f"libtorrent to find {what} complete on disk")
        check(h.status().progress == 1.0, f"{what}: recheck progress {h.status().progress}")
        ses.remove_torrent(h)
    return out, kv


def main():
    build = sys.argv[2]
    cli = os.path.join(build, "tools", "weightless")
    if not os.access(cli, os.X_OK):
        fail(f"{cli} is not built")
    tmp = tempfile.mkdtemp(prefix="wl-cli-create-")
    try:
        data = os.path.join(tmp, "data")
        trees = {
            "single": tree_single(data),
            "tiny": tree_tiny_single(data),
            "nested": tree_nested(data),
            "small": tree_small_files(data),
            "empties": tree_empty_files(data),
            "exact": tree_exact(data),
            "exec": tree_exec_hidden(data),
            "onefiledir": tree_one_file_dir(data),
        }
        for name, path in trees.items():
            for piece in (16384, 32768, 65536, 1 << 20):
                for mode in ("v1", "v2", "hybrid"):
                    compare(cli, tmp, path, piece, mode,
                            recheck=(piece == 32768 and mode != "v1"))
        print(f"info hashes equal libtorrent's for {len(trees)} trees x 4 piece sizes x 3 modes")

        # one piece file larger than the block tree of one piece, many pieces, auto piece size
        big = os.path.join(data, "big.bin")
        with open(big, "wb") as f:
            for _ in range(40):
                f.write(rnd(1 << 20))
        out = os.path.join(tmp, "big.torrent")
        p = run(cli, "create", big, "-o", out)
        ti = lt.torrent_info(out)
        pl = ti.piece_length()
        check(pl & (pl - 1) == 0 and 16384 <= pl <= 16 << 20, f"auto piece length {pl}")
        check(ti.num_pieces() <= 2048 and (40 << 20) // (pl // 2) > 2048,
              f"auto piece length {pl} is not the smallest giving <= 2048 pieces")
        ref, _ = lt_reference(big, pl, "hybrid")
        check(ti.info_hashes().v1 == ref.v1 and ti.info_hashes().v2 == ref.v2, "big.bin hashes")
        check(b"\r" not in p.stderr and b"hashing [" not in p.stderr,
              "progress bar drawn although stderr is not a terminal")

        # thread count does not change the output; --progress forces the bar
        outs = []
        for j in ("1", "2", "3"):
            o = os.path.join(tmp, f"j{j}.torrent")
            p = run(cli, "create", trees["nested"], "-o", o, "-j", j, "--no-date", "-p", "16K",
                    *(["--progress"] if j == "3" else []))
            outs.append(open(o, "rb").read())
        check(outs[0] == outs[1] == outs[2], "-j 1/2/3 gave different torrents")
        check(b"hashing [" in p.stderr and b"MB/s" in p.stderr, "--progress drew no progress bar")

        # optional fields
        o = os.path.join(tmp, "fields.torrent")
        run(cli, "create", trees["single"], "-o", o, "--tracker", "http://t1/announce",
            "--tracker", "http://t2/announce,http://t3/announce", "--web-seed", "http://ws/",
            "--comment", "weights of a test", "--private", "--name", "renamed.bin")
        ti = lt.torrent_info(o)
        urls = sorted((t.tier, t.url) for t in ti.trackers())  # libtorrent shuffles a tier
        check(urls == [(0, "http://t1/announce"), (1, "http://t2/announce"),
                       (1, "http://t3/announce")], f"trackers {urls}")
        check(ti.priv(), "--private not set")
        check(ti.comment() == "weights of a test", f"comment {ti.comment()!r}")
        check([w["url"] for w in ti.web_seeds()] == ["http://ws/"], f"web seeds {ti.web_seeds()}")
        check(ti.name() == "renamed.bin", f"--name gave {ti.name()}")
        d = lt.bdecode(open(o, "rb").read())
        check(list(d.keys()) == sorted(d.keys()), "top-level keys not sorted")
        check(d[b"created by"].startswith(b"weightless"), "created by")
        check(b"creation date" in d, "creation date missing")

        # the default tracker is $WEIGHTLESS_SERVER/announce
        env = dict(os.environ, WEIGHTLESS_SERVER="http://registry.example:8080/")
        o = os.path.join(tmp, "deftr.torrent")
        run(cli, "create", trees["tiny"], "-o", o, env=env)
        check([t.url for t in lt.torrent_info(o).trackers()] ==
              ["http://registry.example:8080/announce"], "default tracker")
        run(cli, "create", trees["tiny"], "-o", o, "--no-tracker", env=env)
        check(list(lt.torrent_info(o).trackers()) == [], "--no-tracker still has a tracker")

        # -o - writes the torrent to stdout, the summary to stderr
        p = run(cli, "create", trees["tiny"], "-o", "-", "--no-date")
        ti = lt.torrent_info(lt.bdecode(p.stdout))
        check(str(ti.info_hashes().v2) in p.stderr.decode(), "-o -: summary not on stderr")

        # JSON output
        import json
        p = run(cli, "create", trees["nested"], "-o", os.path.join(tmp, "j.torrent"), "--json")
        j = json.loads(p.stdout)
        ti = lt.torrent_info(os.path.join(tmp, "j.torrent"))
        check(j["v2_info_hash"] == str(ti.info_hashes().v2) and
              j["v1_info_hash"] == str(ti.info_hashes().v1) and j["version"] == "hybrid" and
              j["files"] == len(sorted_files(trees["nested"])), f"--json {j}")

        # symlinks are followed; hidden files are kept unless --no-hidden; empty dirs vanish
        s = os.path.join(data, "linked")
        os.makedirs(os.path.join(s, "snapshot"))
        os.makedirs(os.path.join(s, "blobs"))
        os.makedirs(os.path.join(s, "empty-dir", "nested-empty"))
        write(os.path.join(s, "blobs", "abc123"), rnd(30_000))
        os.symlink("../blobs/abc123", os.path.join(s, "snapshot", "model.bin"))
        os.symlink("blobs", os.path.join(s, "blobs-link"))
        write(os.path.join(s, ".gitattributes"), b"*.bin lfs\n")
        o = os.path.join(tmp, "linked.torrent")
        run(cli, "create", s, "-o", o, "--v2")
        fs = lt.torrent_info(o).files()
        # libtorrent aligns v2 files with virtual pad files of its own: leave those out
        paths = sorted(fs.file_path(i) for i in range(fs.num_files())
                       if not fs.file_flags(i) & lt.file_storage.flag_pad_file)
        check(paths == ["linked/.gitattributes", "linked/blobs-link/abc123", "linked/blobs/abc123",
                        "linked/snapshot/model.bin"], f"symlinked tree lists {paths}")
        run(cli, "create", s, "-o", o, "--v2", "--no-hidden")
        fs = lt.torrent_info(o).files()
        check(not any(".gitattributes" in fs.file_path(i) for i in range(fs.num_files())),
              "--no-hidden kept a hidden file")

        # failures and their exit codes
        loop = os.path.join(data, "loop")
        os.makedirs(os.path.join(loop, "d"))
        write(os.path.join(loop, "d", "f"), b"data")
        os.symlink("..", os.path.join(loop, "d", "up"))
        p = run(cli, "create", loop, "-o", os.path.join(tmp, "x.torrent"), ok=False)
        check(p.returncode == 5 and b"symlink loop" in p.stderr, f"loop: {p.returncode} {p.stderr}")
        dang = os.path.join(data, "dangling")
        os.makedirs(dang)
        write(os.path.join(dang, "f"), b"data")
        os.symlink("nowhere", os.path.join(dang, "broken"))
        p = run(cli, "create", dang, "-o", os.path.join(tmp, "x.torrent"), ok=False)
        check(p.returncode == 4 and b"dangling symlink" in p.stderr,
              f"dangling: {p.returncode} {p.stderr}")
        empt = os.path.join(data, "all-empty")
        write(os.path.join(empt, "a"), b"")
        os.makedirs(os.path.join(empt, "dir"))
        p = run(cli, "create", empt, "-o", os.path.join(tmp, "x.torrent"), ok=False)
        check(p.returncode == 5 and p.stderr.startswith(b"weightless: nothing to share"),
              f"all-empty: {p.returncode} {p.stderr}")
        p = run(cli, "create", os.path.join(data, "does-not-exist"), ok=False)
        check(p.returncode == 4 and b"cannot read" in p.stderr, f"missing path: {p.returncode}")
        p = run(cli, "create", trees["tiny"], "--piece-size", "1000", ok=False)
        check(p.returncode == 1 and b"--piece-size" in p.stderr, f"bad piece size: {p.returncode}")
        p = run(cli, "create", ok=False)
        check(p.returncode == 1 and b"missing PATH" in p.stderr, f"no path: {p.returncode}")
        p = run(cli, "create", trees["tiny"], "--v1", "--v2", ok=False)
        check(p.returncode == 1, "--v1 --v2 accepted")
        p = run(cli, "create", trees["tiny"], "-o", os.path.join(tmp, "no", "such", "dir.torrent"),
                ok=False)
        check(p.returncode == 4 and b"cannot write" in p.stderr, f"unwritable: {p.returncode}")
        p = run(cli, "create", "--help")
        check(b"usage: weightless create" in p.stdout and b"--piece-size" in p.stdout, "--help")
        print(f"weightless create: {CHECKS} checks passed")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
