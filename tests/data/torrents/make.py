#!/usr/bin/python3
"""Generates the .torrent files of tests/unit/libcommon/test_torrent.c and what libtorrent
says about them.

Run with Debian's /usr/bin/python3 (python3-libtorrent 2.0.8) from anywhere:
    /usr/bin/python3 tests/data/torrents/make.py
It rewrites, next to itself:
  good/*.torrent   real torrents made by libtorrent (v1 single and multi-file, v2, hybrids
                   with BEP 47 pad files, v1 with pad files, UTF-8 names, private flag)
  expected.txt     libtorrent's view of each good torrent (format below)
  bad/*.torrent    malformed torrents, written with the non-canonical bencoder below
  bad.txt          for each bad torrent: the error code and a substring of the reason
and seeds the fuzz corpus tests/fuzz/corpus/fuzz_torrent/ with the good torrents.

The content of every file is a fixed byte pattern and the creation date / creator are removed,
so the output is the same on every run.

expected.txt: blocks of "key value" lines, one block per torrent, ending with "end":
  torrent NAME.torrent / version v1|v2|hybrid / name N / piece_length / piece_count /
  total_size (pad files excluded) / private 0|1 / single 0|1 / v1 HEX|- / v2 HEX|- /
  files N / then N lines "file LENGTH PATH" (PATH relative to the root, without the name;
  the name itself for a single-file torrent; pad files left out).
"""
import hashlib
import os
import shutil
import sys
import tempfile

import libtorrent as lt

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = os.path.join(HERE, "good")
BAD = os.path.join(HERE, "bad")
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "fuzz_torrent")


def content(seed, n):
    """n bytes, a SHA-256 counter stream: deterministic, incompressible."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s/%d" % (seed, i)).encode()).digest()
        i += 1
    return bytes(out[:n])


def make(tmp, out_name, layout, piece_size, flags=0, root=None, private=False):
    """layout: {relative path: size}. root: a directory name (multi-file) or None (single file,
    layout has one entry)."""
    base = os.path.join(tmp, out_name)
    os.makedirs(base)
    for rel, size in layout.items():
        p = os.path.join(base, root or "", rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content(rel, size))
    # Files listed in the layout's order (not the directory's, which varies between machines);
    # v2 and hybrid torrents sort them anyway.
    fs = lt.file_storage()
    for rel, size in layout.items():
        fs.add_file(os.path.join(root, rel) if root else rel, size)
    ct = lt.create_torrent(fs, piece_size, flags)
    if private:
        ct.set_priv(True)
    lt.set_piece_hashes(ct, base)
    e = ct.generate()
    e.pop(b"creation date", None)
    e.pop(b"created by", None)
    data = lt.bencode(e)
    with open(os.path.join(GOOD, out_name + ".torrent"), "wb") as f:
        f.write(data)
    return data


def describe(name, data):
    ti = lt.torrent_info(lt.bdecode(data))
    ih = ti.info_hashes()
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        if fs.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        files.append((fs.file_size(i), fs.file_path(i)))
    single = len(files) == 1 and files[0][1] == ti.name()
    if not single:
        files = [(n, p[len(ti.name()) + 1:]) for n, p in files]
    version = "hybrid" if ih.has_v1() and ih.has_v2() else "v2" if ih.has_v2() else "v1"
    lines = [
        "torrent %s" % name,
        "version %s" % version,
        "name %s" % ti.name(),
        "piece_length %d" % ti.piece_length(),
        "piece_count %d" % ti.num_pieces(),
        "total_size %d" % sum(n for n, _ in files),
        "private %d" % (1 if ti.priv() else 0),
        "single %d" % (1 if single else 0),
        "v1 %s" % (str(ih.v1) if ih.has_v1() else "-"),
        "v2 %s" % (str(ih.v2) if ih.has_v2() else "-"),
        "files %d" % len(files),
    ]
    lines += ["file %d %s" % f for f in files]
    lines.append("end")
    return "\n".join(lines) + "\n"


# ---- a bencoder that keeps dict order as given (to write non-canonical input on purpose) ----
class Raw(bytes):
    """Bytes written as they are (to inject malformed tokens)."""


def benc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, bool):
        raise TypeError("bool")
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(benc(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(benc(k) + benc(x) for k, x in v.items()) + b"e"
    if isinstance(v, tuple):  # dict as a list of pairs: duplicates allowed
        return b"d" + b"".join(benc(k) + benc(x) for k, x in v) + b"e"
    raise TypeError(type(v))


def v1_single(**over):
    info = {"length": 40000, "name": "a.bin", "piece length": 16384, "pieces": b"\x01" * 60}
    info.update(over)
    return {"info": dict(sorted(info.items()))}


def v1_multi(files, **over):
    info = {"files": files, "name": "dir", "piece length": 16384}
    total = sum(f.get("length", 0) if isinstance(f, dict) else 0 for f in files)
    pieces = -(-total // 16384) if 0 <= total < 1 << 30 else 1
    info["pieces"] = b"\x02" * (20 * max(1, pieces))
    info.update(over)
    return {"info": dict(sorted(info.items()))}


def fentry(length, *path, attr=None):
    d = {"length": length, "path": list(path)}
    if attr is not None:
        d["attr"] = attr
    return dict(sorted(d.items()))


def v2(tree, **over):
    info = {"file tree": tree, "meta version": 2, "name": "m", "piece length": 16384}
    info.update(over)
    return {"info": dict(sorted(info.items()))}


def v2file(length, root=b"\x03" * 32):
    d = {"length": length}
    if root is not None:
        d["pieces root"] = root
    return {"": dict(sorted(d.items()))}


def bad_cases(good_hybrid):
    """(name, bytes, code, reason substring)."""
    P = "EPARSE"
    cases = []

    def add(name, obj, code, reason):
        data = obj if isinstance(obj, bytes) else benc(obj)
        cases.append((name, data, code, reason))

    ok = benc(v1_single())
    add("truncated_half", ok[: len(ok) // 2], P, "malformed bencoding at byte")
    add("truncated_last_byte", ok[:-1], P, "input ends inside a dict")
    add("truncated_real", good_hybrid[:-7], P, "malformed bencoding")
    add("empty", b"", P, "empty input")
    add("trailing_garbage", ok + b"x", P, "trailing data")
    add("not_a_dict", b"li1ee", P, "expected a dict at the top level, got a list")
    add("no_info", {"announce": "http://x/announce"}, P, "info: missing")
    add("info_twice", Raw(b"d4:info" + benc(v1_single()["info"]) + b"4:info" +
                          benc(v1_single()["info"]) + b"e"), P, "info: appears twice")
    add("info_not_dict", {"info": [1, 2]}, P, "info: expected a dict, got a list")
    # types
    add("name_int", v1_single(name=5), P, "info.name: expected a string, got an integer")
    add("length_str", v1_single(length="40000"), P, "info.length: expected an integer, got a string")
    add("pieces_list", v1_single(pieces=[b"x"]), P, "info.pieces: expected a string, got a list")
    add("files_dict", {"info": {"files": {"a": 1}, "name": "a", "piece length": 16384, "pieces": b"1" * 20}}, P,
        "info.files: expected a list, got a dict")
    add("file_not_dict", v1_multi([fentry(1, "a"), 7]), P, "info.files[1]: expected a dict, got an integer")
    add("path_not_list", v1_multi([dict(sorted({"length": 1, "path": "a/b"}.items()))]), P,
        "info.files[0].path: expected a list, got a string")
    add("path_item_int", v1_multi([fentry(1, "a", 5)]), P, "info.files[0].path[1]: expected a string, got an integer")
    add("piece_length_str", v1_single(**{"piece length": "16384"}), P,
        "info.piece length: expected an integer, got a string")
    add("private_str", v1_single(private="1"), P, "info.private: expected an integer")
    # missing fields
    add("no_name", {"info": {"length": 1, "piece length": 16384, "pieces": b"1" * 20}}, P, "info.name: missing")
    add("no_piece_length", {"info": {"length": 1, "name": "a", "pieces": b"1" * 20}}, P,
        "info.piece length: missing")
    add("no_pieces", {"info": {"length": 1, "name": "a", "piece length": 16384}}, P, "info.pieces: missing")
    add("no_length_no_files", {"info": {"name": "a", "piece length": 16384, "pieces": b"1" * 20}}, P,
        "missing 'length' (single file) or 'files'")
    add("length_and_files", v1_single(files=[fentry(1, "a")]), P, "has both 'length'")
    add("file_no_length", v1_multi([{"path": ["a"]}]), P, "info.files[0].length: missing")
    add("file_no_path", v1_multi([{"length": 1}]), P, "info.files[0].path: missing")
    # lengths
    add("negative_length", v1_single(length=-5), P, "info.length: negative (-5)")
    add("negative_file_length", v1_multi([fentry(10, "a"), fentry(-1, "b")]), P,
        "info.files[1].length: negative (-1)")
    add("huge_length", v1_single(length=1 << 60), "ETOOBIG", "info.length: 1152921504606846976 bytes is over the limit")
    add("huge_total", v1_multi([fentry(1 << 49, "a"), fentry(1 << 49, "b"), fentry(1 << 49, "c")]),
        "ETOOBIG", "the total length exceeds")
    add("int_overflow", Raw(b"d4:infod6:lengthi99999999999999999999e4:name1:a12:piece lengthi16384e6:pieces20:" +
                            b"1" * 20 + b"ee"), P, "integer overflows 64 bits")
    add("zero_length", v1_single(length=0, pieces=b""), P, "holds no data")
    add("piece_length_zero", v1_single(**{"piece length": 0}), P, "info.piece length: must be positive")
    add("piece_length_negative", v1_single(**{"piece length": -16384}), P, "info.piece length: must be positive")
    add("piece_length_huge", v1_single(**{"piece length": 1 << 40}), "ETOOBIG", "info.piece length:")
    # pieces
    add("pieces_not_multiple_of_20", v1_single(pieces=b"\x01" * 59), P,
        "info.pieces: 59 bytes is not a multiple of 20")
    add("pieces_too_few", v1_single(pieces=b"\x01" * 40), P, "info.pieces: 2 hashes, but 40000 bytes")
    add("pieces_too_many", v1_single(pieces=b"\x01" * 80), P, "info.pieces: 4 hashes")
    # paths
    add("path_dotdot", v1_multi([fentry(1, "a"), fentry(1, "x", "..", "etc")]), P,
        "info.files[1].path[1]: '..' is not allowed")
    add("path_dot", v1_multi([fentry(1, ".")]), P, "info.files[0].path[0]: '.' is not allowed")
    add("path_absolute", v1_multi([fentry(1, "", "etc", "passwd")]), P,
        "info.files[0].path[0]: an empty name is not allowed")
    add("path_slash", v1_multi([fentry(1, "/etc/passwd")]), P, "info.files[0].path[0]: '/' is not allowed")
    add("path_nul", v1_multi([fentry(1, "a\0b")]), P, "info.files[0].path[0]: NUL is not allowed")
    add("path_empty_list", v1_multi([fentry(1)]), P, "info.files[0].path: empty list")
    add("path_not_utf8", v1_multi([fentry(1, b"\xff\xfe")]), P, "not valid UTF-8")
    add("path_too_long", v1_multi([fentry(1, *(["d" * 200] * 30))]), "ETOOBIG", "longer than 4096 bytes")
    add("name_dotdot", v1_single(name=".."), P, "info.name: '..' is not allowed")
    add("name_slash", v1_single(name="/etc/passwd"), P, "info.name: '/' is not allowed")
    add("name_empty", v1_single(name=""), P, "info.name: an empty name is not allowed")
    add("files_empty", v1_multi([]), P, "info.files: empty list")
    add("duplicate_path", v1_multi([fentry(1, "a", "b"), fentry(1, "a", "b")]), P, "info.files: 'a/b' appears twice")
    add("file_and_dir", v1_multi([fentry(1, "a"), fentry(1, "a.txt"), fentry(1, "a", "b")]), P,
        "info.files: 'a' is both a file and a directory")
    # canonical info dict
    add("info_unsorted", Raw(b"d4:infod4:name1:a6:lengthi1e12:piece lengthi16384e6:pieces20:" + b"1" * 20 + b"ee"),
        P, "keys not in sorted order at byte 17 ('length' after 'name')")
    add("info_duplicate_key", Raw(b"d4:infod6:lengthi1e6:lengthi1e4:name1:a12:piece lengthi16384e6:pieces20:" +
                                  b"1" * 20 + b"ee"), P, "info: duplicate key 'length' at byte")
    add("file_entry_unsorted", v1_multi([{"path": ["a"], "length": 1}]), P, "('length' after 'path')")
    add("dict_key_int", Raw(b"d4:infodi1e1:aee"), P, "dict key is not a string")
    # v2
    add("v2_meta_version_3", v2({"a": v2file(1)}, **{"meta version": 3}), P,
        "info.meta version: unsupported version 3")
    add("v2_no_file_tree", {"info": {"meta version": 2, "name": "m", "piece length": 16384}}, P,
        "info.file tree: missing")
    add("v2_piece_length_not_pow2", v2({"a": v2file(1)}, **{"piece length": 20000}), P,
        "must be a power of two of at least 16384")
    add("v2_piece_length_small", v2({"a": v2file(1)}, **{"piece length": 8192}), P,
        "must be a power of two of at least 16384")
    add("v2_dotdot", v2({"..": v2file(1)}), P, "info.file tree: name '..': '..' is not allowed")
    add("v2_slash", v2({"a/b": v2file(1)}), P, "'/' is not allowed")
    add("v2_negative_length", v2({"a": v2file(-1)}), P, "info.file tree['a'].length: negative (-1)")
    add("v2_no_pieces_root", v2({"a": v2file(5, root=None)}), P, "info.file tree['a'].pieces root: missing")
    add("v2_short_pieces_root", v2({"a": v2file(5, root=b"x" * 31)}), P, "pieces root: 31 bytes, expected 32")
    add("v2_file_and_dir", v2({"a": {"": {"length": 1, "pieces root": b"r" * 32}, "b": v2file(1)}}), P,
        "info.file tree['a']: mixes a file entry")
    add("v2_empty_tree", v2({}), P, "info.file tree: empty")
    add("v2_empty_dir", v2({"a": v2file(1), "d": {}}), P, "info.file tree['d']: empty directory")
    add("v2_root_file", v2({"": {"length": 1, "pieces root": b"r" * 32}}), P, "a file entry (key '') at the root")
    add("v2_entry_not_dict", v2({"a": 5}), P, "info.file tree['a']: expected a dict, got an integer")
    add("v2_huge", v2({"a": v2file(1 << 55)}), "ETOOBIG", "is over the limit")
    add("v2_bad_piece_layers", dict(v2({"a": v2file(100000)}), **{"piece layers": {b"r" * 32: b"x" * 33}}),
        P, "piece layers: a layer of 33 bytes")
    # hybrid mismatches
    tree = {"a": v2file(20000), "b": v2file(100)}
    add("hybrid_files_differ", v2(tree, files=[fentry(20000, "a"), fentry(12768, ".pad", "12768", attr="p"),
                                              fentry(100, "c")], pieces=b"\x04" * 60), P,
        "hybrid: info.files[2] ('c', 100 bytes) differs from file tree entry 1 ('b', 100 bytes)")
    add("hybrid_unaligned", v2(tree, files=[fentry(20000, "a"), fentry(100, "b"), fentry(12668, ".pad", "12668", attr="p")],
                               pieces=b"\x04" * 40), P, "does not start on a piece boundary")
    add("hybrid_count", v2(tree, files=[fentry(20000, "a"), fentry(12768, ".pad", "12768", attr="p"),
                                       fentry(100, "b"), fentry(32668, ".pad", "32668", attr="p")],
                           pieces=b"\x04" * 80), P,
        "hybrid: info.pieces has 4 hashes but the file tree makes 3 pieces")
    # bencoding strictness
    add("leading_zero", Raw(b"d4:infod6:lengthi01e4:name1:a12:piece lengthi16384e6:pieces20:" + b"1" * 20 + b"ee"),
        P, "malformed bencoding at byte 18: leading zero in integer")
    add("negative_zero", Raw(b"d4:infod6:lengthi-0e4:name1:a12:piece lengthi16384e6:pieces20:" + b"1" * 20 + b"ee"),
        P, "at byte 18: negative zero")
    add("string_past_end", Raw(b"d4:infod4:name999999999:a"), P, "at byte 14: string length exceeds")
    add("deep_nesting", Raw(b"d4:info" + b"l" * 200 + b"e" * 200 + b"e"), "EDEPTH", "nesting deeper than 96")
    return cases


def main():
    for d in (GOOD, BAD):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    V1, V2, CANON = lt.create_torrent.v1_only, lt.create_torrent.v2_only, lt.create_torrent.canonical_files
    tmp = tempfile.mkdtemp(prefix="wl-torrents-")
    expected = []
    try:
        multi = {"a.txt": 1000, "sub/b.bin": 20000, "sub/deeper/c.dat": 33000,
                 "donn\u00e9es/\u00e9t\u00e9.txt": 500, "sub/zero.txt": 0}
        model = {"config.json": 300, "shards/part-0.bin": 70000, "shards/part-1.bin": 16384,
                 "tokenizer/vocab.txt": 5000}
        made = [
            ("v1_single", make(tmp, "v1_single", {"hello.bin": 40000}, 16384, V1)),
            ("v1_multi", make(tmp, "v1_multi", multi, 16384, V1, root="multi", private=True)),
            ("v1_padded", make(tmp, "v1_padded", model, 16384, V1 | CANON, root="model")),
            ("v2_single", make(tmp, "v2_single", {"weights.bin": 100000}, 32768, V2)),
            ("v2_multi", make(tmp, "v2_multi", model, 16384, V2, root="model")),
            ("hybrid_multi", make(tmp, "hybrid_multi", multi, 16384, 0, root="multi")),
            ("hybrid_single", make(tmp, "hybrid_single", {"one.bin": 50000}, 16384, 0)),
            ("hybrid_model", make(tmp, "hybrid_model", model, 32768, 0, root="model", private=True)),
        ]
    finally:
        shutil.rmtree(tmp)
    for name, data in made:
        expected.append(describe(name + ".torrent", data))
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("# Generated by make.py from libtorrent %s: do not edit.\n" % lt.__version__)
        f.write("".join(expected))

    hybrid = dict(made)["hybrid_multi"]
    lines = ["# Generated by make.py: bad/<name>.torrent <TAB> WL_E code <TAB> reason substring\n"]
    for name, data, code, reason in bad_cases(hybrid):
        with open(os.path.join(BAD, name + ".torrent"), "wb") as f:
            f.write(data)
        assert "\t" not in reason and "\n" not in reason
        lines.append("%s\t%s\t%s\n" % (name, code, reason))
    with open(os.path.join(HERE, "bad.txt"), "w") as f:
        f.write("".join(lines))

    os.makedirs(CORPUS, exist_ok=True)
    for name, data in made:
        with open(os.path.join(CORPUS, name + ".torrent"), "wb") as f:
            f.write(data)
    print("wrote %d good and %d bad torrents" % (len(made), len(lines) - 1), file=sys.stderr)


if __name__ == "__main__":
    main()
