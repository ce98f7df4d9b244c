#!/usr/bin/python3
"""Browser tests of the web UI (issue 6): headless Chromium driven through WebDriver.

    /usr/bin/python3 tests/e2e/test_webui.py STACK_DIR BUILD_DIR   # against a running stack
    /usr/bin/python3 tests/e2e/test_webui.py --mock [BUILD_DIR]    # against tests/e2e/webui_mock.py
    (WEBUI_MOCK_RATE_LIMIT=5/10 makes the mock rate-limit like the gateway's defaults)

STACK_DIR/env holds KEY=VALUE lines (tests/integration/stack.sh): WL_TEST_HTTP is the stack's
base URL and REGISTRY_KEY the key for creating entries. The test registers its own entries,
all named with a random prefix so that other tests' entries in the same registry stay out of
its searches: 16 plain entries, three whose swarms it fills through /announce (so the sorts
differ), a hybrid multi-file, a v1-only and a v2-only torrent made with libtorrent, and one whose
name and description are markup. It then checks in the browser that search narrows, filters and
sorts give the order the API gives, paging and the back button work, bookmarks restore the
state, the entry page shows the hybrid torrent's file tree, piece size and count and version,
the magnet links equal the strings of API.md, the .torrent download is byte-identical, a
missing entry and a failing registry show error states, registry text is never markup, the
layout holds at phone width, the keyboard reaches everything and the dark scheme applies.
Screenshots go to BUILD_DIR/e2e-screenshots/webui/. Exits non-zero on any failure.
"""
import json
import os
import random
import shutil
import string
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import libtorrent as lt
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
WAIT = 10          # seconds for anything the page does
PAGE_SIZE = 20     # web/assets/search.js PAGE_SIZE
N_FILLERS = 16

CFG = {}           # base, key, build, shots (set in main)


# --- the HTTP API, from Python ----------------------------------------------------------

def http(method, path, body=None, ctype=None, key=False):
    """One API call; a 429 (rate limit) is retried after its Retry-After."""
    headers = {}
    if ctype:
        headers["Content-Type"] = ctype
    if key and CFG["key"]:
        headers["X-Weightless-Key"] = CFG["key"]
    deadline = time.time() + 20
    while True:
        req = urllib.request.Request(CFG["base"] + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            if e.code == 429 and time.time() < deadline:
                time.sleep(min(float(e.headers.get("Retry-After") or 1), 2))
                continue
            return e.code, dict(e.headers), e.read()


def api_json(path):
    status, headers, body = http("GET", path)
    assert status == 200, f"GET {path}: HTTP {status} {body[:200]!r}"
    return headers, json.loads(body)


def api_search(**params):
    """(names, total) of a search, as the API answers it: the reference for the browser."""
    params = {k: v for k, v in params.items() if v not in (None, "")}
    params.setdefault("limit", PAGE_SIZE)
    headers, rows = api_json("/api/registry/search?" + urllib.parse.urlencode(params))
    total = int({k.lower(): v for k, v in headers.items()}["x-total-count"])
    return [r["name"] for r in rows], total


def register(entry):
    status, _, body = http("POST", "/api/registry", json.dumps(entry).encode(), "application/json", key=True)
    assert status == 201, f"POST /api/registry {entry['name']!r}: HTTP {status} {body!r}"


def upload_torrent(data, **fields):
    status, _, body = http("POST", "/api/registry/torrent?" + urllib.parse.urlencode(fields), data,
                           "application/x-bittorrent", key=True)
    assert status == 201, f"POST /api/registry/torrent: HTTP {status} {body!r}"
    return json.loads(body)


def announce(hash20, port, left, event=""):
    q = {"info_hash": hash20, "peer_id": b"-WU0001-" + os.urandom(6).hex().encode()[:12], "port": port,
         "uploaded": 0, "downloaded": 0, "left": left, "compact": 1}
    if event:
        q["event"] = event
    path = "/announce?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
    for _ in range(40):
        status, _, body = http("GET", path)
        assert status == 200, f"announce: HTTP {status}"
        if b"Rate limit" not in body:
            assert b"failure reason" not in body, f"announce refused: {body!r}"
            return
        time.sleep(0.5)
    raise AssertionError("announce: rate-limited for 20 s")


# --- torrents ---------------------------------------------------------------------------

def make_torrent(parent, name, files, flags=0):
    """Write files (relative path -> size) under parent/name and return (.torrent bytes, info)."""
    rnd = random.Random(name)
    for rel, size in files.items():
        p = os.path.join(parent, name, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(bytes(rnd.getrandbits(8) for _ in range(size)))
    fs = lt.file_storage()
    lt.add_files(fs, os.path.join(parent, name))
    ct = lt.create_torrent(fs, 16384, flags)
    lt.set_piece_hashes(ct, parent)
    data = lt.bencode(ct.generate())
    ti = lt.torrent_info(lt.bdecode(data))
    return data, ti


def expected_magnet(info_hash, v1, name):
    q = lambda s: urllib.parse.quote(s, safe="!~*'()")  # JavaScript's encodeURIComponent
    xt = []
    if v1:
        xt = [f"xt=urn:btih:{v1}", f"xt=urn:btmh:1220{info_hash}"]
    elif len(info_hash) == 40:
        xt = [f"xt=urn:btih:{info_hash}"]
    else:
        xt = [f"xt=urn:btmh:1220{info_hash}"]
    return "magnet:?" + "&".join(xt + [f"dn={q(name)}", f"tr={q(CFG['base'] + '/announce')}"])


# --- the browser ------------------------------------------------------------------------

def start_browser(profile, downloads):
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--lang=en-US", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": downloads,
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    d = webdriver.Chrome(service=service, options=opts)
    d.set_page_load_timeout(20)
    d.set_script_timeout(WAIT)
    d.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return d


class WebUI(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        t0 = time.time()
        cls.tmp = tempfile.mkdtemp(prefix="wl-webui-")
        cls.downloads = os.path.join(cls.tmp, "downloads")
        os.makedirs(cls.downloads)
        cls.P = "wlui" + "".join(random.choices(string.ascii_lowercase + string.digits, k=8))
        P = cls.P
        cls.js_errors = []

        # plain entries: two categories, two publishers, a few tags
        for i in range(1, N_FILLERS + 1):
            register({
                "info_hash": os.urandom(32).hex(), "name": f"{P} filler {i:02d}",
                "category": "models" if i % 2 else "datasets",
                "publisher": f"{P}-lab" if i % 3 else f"{P}-org",
                "tags": "llm,fp16" if i % 4 == 0 else ("vision,int8" if i % 4 == 1 else "audio"),
                "license": "MIT", "size": 1000 * i ** 3, "description": f"filler {i}",
            })
        # three entries whose swarms give different completions and seeders orders
        cls.sort_hashes = {}
        for s in ("a", "b", "c"):
            h = os.urandom(32).hex()
            cls.sort_hashes[s] = h
            register({"info_hash": h, "name": f"{P} sort-{s}", "category": "models", "publisher": f"{P}-lab"})
        # markup in the registry's text
        cls.xss_name = f'{P} <img src=x onerror="window.__pwned=1"> & <b>bold</b>'
        register({"info_hash": os.urandom(32).hex(), "name": cls.xss_name, "category": "tools",
                  "description": '<script>window.__pwned=2</script>\n<a href="javascript:alert(1)">x</a>',
                  "tags": "<i>tag</i>"})

        # torrents: hybrid multi-file, v1-only single file, v2-only
        tdir = os.path.join(cls.tmp, "t")
        cls.hy_files = {"README.md": 1200, "weights/model-00001-of-00002.bin": 40000,
                        "weights/model-00002-of-00002.bin": 30001, "config/tokenizer.json": 700,
                        "config/extra/notes.txt": 13}
        cls.hy_data, cls.hy_ti = make_torrent(tdir, f"{P}-hybrid", cls.hy_files)
        cls.hy_name = f"{P} hybrid weights"
        cls.hy_desc = f"Weights for testing {P}.\nSecond line of the description."
        r = upload_torrent(cls.hy_data, name=cls.hy_name, description=cls.hy_desc, category="models",
                           publisher=f"{P}-lab", license="Apache-2.0", tags="llm,fp16,hybrid")
        cls.hy_hash, cls.hy_v1 = r["info_hash"], r.get("v1_info_hash")
        assert cls.hy_hash == str(cls.hy_ti.info_hashes().v2), r
        assert cls.hy_v1 == str(cls.hy_ti.info_hashes().v1), r

        single = os.path.join(tdir, f"{P}-single.bin")
        with open(single, "wb") as f:
            f.write(os.urandom(50000))
        fs = lt.file_storage()
        lt.add_files(fs, single)
        ct = lt.create_torrent(fs, 16384, lt.create_torrent.v1_only)
        lt.set_piece_hashes(ct, tdir)
        cls.v1_data = lt.bencode(ct.generate())
        cls.v1_name = f"{P} v1 single"
        r = upload_torrent(cls.v1_data, name=cls.v1_name, category="datasets")
        cls.v1_hash = r["info_hash"]
        assert len(cls.v1_hash) == 40 and r.get("v1_info_hash") in (None, cls.v1_hash), r

        cls.v2_data, cls.v2_ti = make_torrent(tdir, f"{P}-v2", {"a.bin": 20000, "b/c.bin": 5000},
                                              lt.create_torrent.v2_only)
        cls.v2_name = f"{P} v2 only"
        r = upload_torrent(cls.v2_data, name=cls.v2_name, category="datasets")
        cls.v2_hash = r["info_hash"]
        assert len(cls.v2_hash) == 64 and not r.get("v1_info_hash"), r
        cls.total = N_FILLERS + 3 + 1 + 3

        # swarms: completions a=2, b=1, c=0; seeders c=2, b=1, a=0 (a has a leecher)
        port = iter(range(20000, 20100))
        h20 = {s: bytes.fromhex(h)[:20] for s, h in cls.sort_hashes.items()}
        for _ in range(2):
            p = next(port)
            announce(h20["a"], p, 0, "completed")
            announce(h20["a"], p, 0, "stopped")
        cls.peers = [(h20["a"], next(port), 1000), (h20["b"], next(port), 0), (h20["c"], next(port), 0),
                     (h20["c"], next(port), 0)]
        for h, p, left in cls.peers:
            announce(h, p, left, "completed" if h == h20["b"] else "started")
        want = {"a": (0, 1, 2), "b": (1, 0, 1), "c": (2, 0, 0)}  # seeders, leechers, completions
        deadline = time.time() + 15  # live figures may lag the swarm by up to 5 s
        while True:
            got = {s: tuple(api_json(f"/api/registry?info_hash={h}")[1][k] for k in ("seeders", "leechers", "completions"))
                   for s, h in cls.sort_hashes.items()}
            if got == want:
                break
            assert time.time() < deadline, f"swarm figures did not reach the registry: {got}, want {want}"
            time.sleep(0.5)
        print(f"setup: {cls.total} entries with prefix {P} in {time.time() - t0:.1f}s", file=sys.stderr)

        cls.d = start_browser(os.path.join(cls.tmp, "profile"), cls.downloads)

    @classmethod
    def tearDownClass(cls):
        d = getattr(cls, "d", None)
        if d:
            d.quit()
        for h, p, left in getattr(cls, "peers", []):  # leave no peers in the shared stack's swarms
            try:
                announce(h, p, left, "stopped")
            except (AssertionError, OSError) as e:
                print(f"cleanup: {e}", file=sys.stderr)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        name = self.id().rsplit(".", 1)[-1]
        try:
            self.d.save_screenshot(os.path.join(CFG["shots"], f"{name}.png"))
            for e in self.d.get_log("browser"):
                # resource errors are the expected 404/503 answers; anything else is a JS error
                if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]:
                    self.js_errors.append(f"{name}: {e['message']}")
        except WebDriverException:
            pass

    # --- helpers -------------------------------------------------------------------------
    def wait(self, cond, msg, timeout=WAIT):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.05).until(lambda d: cond())
        except TimeoutException:
            self.fail(f"timed out after {timeout}s waiting for {msg}")

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def open(self, path):
        """Load a page and wait for the app to start. A page or module refused by the gateway's
        rate limiter (429) leaves the app dead, as it would for a person: load it again."""
        ready = "return document.documentElement.dataset.ready === 'true'"
        for attempt in range(8):
            self.d.get(CFG["base"] + path)
            try:
                WebDriverWait(self.d, 4, poll_frequency=0.05).until(lambda d: self.js(ready))
                return
            except TimeoutException:
                time.sleep(1)
        self.fail(f"the app did not start on {path}")

    def shown_names(self):
        return self.js("return [...document.querySelectorAll('#results .result-link')].map(a => a.textContent)")

    def search_state(self):
        return self.js("const s = document.querySelector('section.search'); return s && s.dataset.state")

    def wait_results(self, expected, what, query=None):
        """Wait until the search page is settled and lists exactly `expected` (and, when given,
        the URL's query is `query`: a new search may list what the old one did)."""
        last = {}

        def ok():
            last["names"], last["state"] = self.shown_names(), self.search_state()
            return (last["state"] in ("ready", "empty") and last["names"] == expected
                    and (query is None or self.query() == query))
        try:
            WebDriverWait(self.d, WAIT, poll_frequency=0.05).until(lambda d: ok())
        except TimeoutException:
            self.fail(f"{what}: the page shows {last.get('names')} (state {last.get('state')}), "
                      f"the API says {expected}")

    def query(self):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.d.current_url).query))

    def type_into(self, el_id, text, clear=True):
        el = self.d.find_element(By.ID, el_id)
        if clear:
            el.send_keys(Keys.CONTROL, "a")
            el.send_keys(Keys.DELETE)
        el.send_keys(text)

    def open_entry(self, info_hash):
        self.open(f"/entry/{info_hash}")
        self.wait(lambda: self.js("const a = document.querySelector('article.entry');"
                                  "return a && a.dataset.state"), "the entry page to load")
        self.wait(lambda: self.js("return document.querySelector('article.entry').dataset.state") != "loading",
                  "the entry page to finish loading")

    # --- tests ---------------------------------------------------------------------------
    def test_01_search_narrows_as_you_type(self):
        P = self.P
        self.open("/")
        self.wait(lambda: self.search_state() in ("ready", "empty"), "the first search")
        self.type_into("q", P)
        names, total = api_search(q=P)
        self.assertEqual(total, self.total)
        self.wait_results(names, f"search {P!r}", {"q": P})
        self.wait(lambda: f"of {self.total} entries" in self.d.find_element(By.ID, "result-count").text,
                  "the result count")
        self.type_into("q", " filler 1", clear=False)
        names, total = api_search(q=f"{P} filler 1")
        self.assertEqual(total, 7)  # filler 10..16
        self.wait_results(names, "narrowed search", {"q": f"{P} filler 1"})
        self.assertEqual(self.d.find_element(By.ID, "result-count").text, "7 entries")
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#pager a"), [])
        self.type_into("q", f"{P} nothing-like-this")
        self.wait(lambda: self.search_state() == "empty", "the empty state")
        notice = self.d.find_element(By.ID, "search-notice").text
        self.assertIn("No entries match", notice)
        self.assertIn("nothing-like-this", notice)

    def test_02_filters(self):
        P = self.P
        self.open("/?" + urllib.parse.urlencode({"q": P}))
        self.wait_results(api_search(q=P)[0], "search")
        self.type_into("category", "models")
        self.wait_results(api_search(q=P, category="models")[0], "category filter", {"q": P, "category": "models"})
        self.type_into("publisher", f"{P}-org")
        names, total = api_search(q=P, category="models", publisher=f"{P}-org")
        self.assertGreater(total, 0)
        self.wait_results(names, "category + publisher filter", {"q": P, "category": "models", "publisher": f"{P}-org"})
        self.type_into("publisher", "")
        self.type_into("tag", "fp16")
        names, total = api_search(q=P, category="models", tags="fp16")
        self.assertGreater(total, 0)
        self.wait_results(names, "category + tag filter", {"q": P, "category": "models", "tag": "fp16"})
        # a category chip on a result filters by it; Clear resets everything
        self.d.find_element(By.ID, "clear").click()
        self.wait(lambda: self.query() == {}, "Clear to empty the URL")
        self.type_into("q", P)
        self.wait_results(api_search(q=P)[0], "search after Clear", {"q": P})
        chip = self.js("return [...document.querySelectorAll('#results a.chip.category')]"
                       ".find(a => a.textContent.endsWith('datasets'))")  # 7 or more of 10 are on page 1
        self.assertIsNotNone(chip)
        chip.click()
        self.wait_results(api_search(q=P, category="datasets")[0], "category chip", {"q": P, "category": "datasets"})
        self.assertEqual(self.d.find_element(By.ID, "category").get_attribute("value"), "datasets")

    def test_03_sorts_follow_the_api(self):
        P = self.P
        self.open("/?" + urllib.parse.urlencode({"q": P}))
        newest = api_search(q=P)[0]
        self.wait_results(newest, "newest first")
        sel = Select(self.d.find_element(By.ID, "sort"))
        sel.select_by_value("completions")
        comp = api_search(q=P, sort="completions")[0]
        self.assertEqual(comp[:2], [f"{P} sort-a", f"{P} sort-b"])
        self.wait_results(comp, "most completed", {"q": P, "sort": "completions"})
        # the live figures are on the cards (sort-a is first here; on other sorts it may be on page 2)
        card = self.d.find_element(By.CSS_SELECTOR, f"li.result[data-hash='{self.sort_hashes['a']}']")
        self.assertEqual(card.find_element(By.CSS_SELECTOR, ".stat.leechers dd").text, "1")
        self.assertEqual(card.find_element(By.CSS_SELECTOR, ".stat.completions dd").text, "2")
        sel.select_by_value("seeders")
        seed = api_search(q=P, sort="seeders")[0]
        self.assertEqual(seed[:2], [f"{P} sort-c", f"{P} sort-b"])
        self.wait_results(seed, "most seeded", {"q": P, "sort": "seeders"})
        self.assertNotEqual(comp, seed)
        card = self.d.find_element(By.CSS_SELECTOR, f"li.result[data-hash='{self.sort_hashes['c']}']")
        self.assertEqual(card.find_element(By.CSS_SELECTOR, ".stat.seeders dd").text, "2")
        # Back returns to the previous sort
        self.d.back()
        self.wait_results(comp, "Back to most completed", {"q": P, "sort": "completions"})
        self.assertEqual(Select(self.d.find_element(By.ID, "sort")).first_selected_option.get_attribute("value"),
                         "completions")

    def test_04_paging_back_and_bookmarks(self):
        P = self.P
        self.open("/?" + urllib.parse.urlencode({"q": P}))
        page1, total = api_search(q=P)
        page2, _ = api_search(q=P, offset=PAGE_SIZE)
        self.assertEqual(len(page1), PAGE_SIZE)
        self.assertEqual(len(page2), total - PAGE_SIZE)
        self.wait_results(page1, "page 1")
        count = self.d.find_element(By.ID, "result-count").text
        self.assertIn(f"1–{PAGE_SIZE} of {total} entries", count)
        self.assertEqual([a.text for a in self.d.find_elements(By.CSS_SELECTOR, "#pager a[data-page]")],
                         ["1", "2", "Next →"])
        self.d.find_element(By.CSS_SELECTOR, "#pager a[rel=next]").click()
        self.wait_results(page2, "page 2", {"q": P, "page": "2"})
        self.assertIn(f"{PAGE_SIZE + 1}–{total} of {total}", self.d.find_element(By.ID, "result-count").text)
        self.assertEqual(self.d.find_element(By.CSS_SELECTOR, "#pager [aria-current=page]").text, "2")
        # into an entry and back: page 2 again, with the query still in the box
        first = self.d.find_element(By.CSS_SELECTOR, "#results .result-link")
        first_name = first.text
        first.click()
        self.wait(lambda: self.js("const h = document.querySelector('#entry-name'); return h && h.textContent")
                  == first_name, "the entry page of the clicked result")
        self.d.back()
        self.wait_results(page2, "Back from the entry page", {"q": P, "page": "2"})
        self.assertEqual(self.d.find_element(By.ID, "q").get_attribute("value"), P)
        self.d.back()
        self.wait_results(page1, "Back to page 1", {"q": P})
        self.d.forward()
        self.wait_results(page2, "Forward to page 2", {"q": P, "page": "2"})
        # a bookmark restores the whole state
        self.open("/?" + urllib.parse.urlencode({"q": P, "sort": "seeders", "page": 2}))
        self.wait_results(api_search(q=P, sort="seeders", offset=PAGE_SIZE)[0], "bookmarked page 2 by seeders")
        self.assertEqual(self.d.find_element(By.ID, "sort").get_attribute("value"), "seeders")
        self.assertEqual(self.d.find_element(By.ID, "q").get_attribute("value"), P)
        # a page past the end says so
        self.open("/?" + urllib.parse.urlencode({"q": P, "page": 9}))
        self.wait(lambda: self.search_state() == "empty", "the past-the-end state")
        self.assertIn("past the last page", self.d.find_element(By.ID, "search-notice").text)

    def test_05_hybrid_entry_page(self):
        P = self.P
        self.open("/?" + urllib.parse.urlencode({"q": self.hy_name}))
        self.wait_results([self.hy_name], "search for the hybrid torrent")
        card = self.d.find_element(By.CSS_SELECTOR, "li.result")
        self.assertIn("fp16", card.text)
        self.assertIn("Apache-2.0", card.text)
        card.find_element(By.CSS_SELECTOR, ".result-link").click()
        self.wait(lambda: self.js("const a = document.querySelector('article.entry'); return a && a.dataset.state")
                  == "ready", "the hybrid entry page")
        self.assertEqual(urllib.parse.urlsplit(self.d.current_url).path, f"/entry/{self.hy_hash}")
        self.assertEqual(self.d.find_element(By.ID, "entry-name").text, self.hy_name)
        self.assertEqual(self.d.title, f"{self.hy_name} · Weightless")
        self.assertEqual(self.js("return document.getElementById('description').textContent"), self.hy_desc)
        _, meta = api_json(f"/api/registry/meta?info_hash={self.hy_hash}")
        self.assertEqual(meta["version"], "hybrid")
        fact = lambda k: self.d.find_element(By.ID, f"fact-{k}")
        self.assertEqual(fact("version").get_attribute("data-value"), "hybrid")
        self.assertEqual(fact("version").text, "Hybrid (v1 + v2)")
        self.assertEqual(fact("piece-length").text, "16 KiB")
        self.assertEqual(fact("piece-count").text, str(meta["piece_count"]))
        self.assertEqual(meta["piece_count"], self.hy_ti.num_pieces())
        self.assertEqual(fact("file-count").text, str(len(self.hy_files)))
        self.assertEqual(self.d.find_element(By.ID, "v1-info-hash").text, self.hy_v1)
        # the file tree: every real file (no pad files) with its size, inside its folders
        files = self.js("return [...document.querySelectorAll('#file-tree li.file')]"
                        ".map(li => [li.dataset.path, Number(li.dataset.size)])")
        self.assertEqual(sorted(map(tuple, files)), sorted(self.hy_files.items()))
        dirs = self.js("return [...document.querySelectorAll('#file-tree li.dir')].map(li => li.dataset.path)")
        self.assertEqual(sorted(dirs), ["", "config", "config/extra", "weights"])
        root = self.d.find_element(By.CSS_SELECTOR, "#file-tree li.dir.root > details > summary")
        self.assertIn(f"{P}-hybrid/", root.text)
        self.assertIn(f"{len(self.hy_files)} files", root.text)
        wsum = self.d.find_element(By.CSS_SELECTOR, "#file-tree li.dir[data-path='weights'] > details > summary")
        self.assertIn("68.4 KiB", wsum.text)  # 70001 bytes
        wfile = self.d.find_element(By.CSS_SELECTOR, "#file-tree li.file[data-path='weights/model-00001-of-00002.bin']")
        shown = lambda: self.js("return arguments[0].checkVisibility()", wfile)  # closed <details> content
        self.assertTrue(shown())
        self.assertIn("39.1 KiB", wfile.text)
        wsum.click()
        self.wait(lambda: not shown(), "the weights folder to collapse")
        wsum.click()
        self.wait(shown, "the weights folder to open again")
        self.d.find_element(By.ID, "collapse-all").click()
        self.wait(lambda: not shown(), "Collapse all")
        self.d.find_element(By.ID, "expand-all").click()
        self.wait(shown, "Expand all")
        # the magnet link of API.md, which libtorrent reads back to the right hashes
        magnet = self.d.find_element(By.ID, "magnet").get_attribute("value")
        self.assertEqual(magnet, expected_magnet(self.hy_hash, self.hy_v1, self.hy_name))
        self.assertEqual(self.d.find_element(By.ID, "open-magnet").get_attribute("href"), magnet)
        m = lt.parse_magnet_uri(magnet)
        self.assertEqual(str(m.info_hashes.v1), self.hy_v1)
        self.assertEqual(str(m.info_hashes.v2), self.hy_hash)
        self.assertEqual(m.name, self.hy_name)
        self.assertEqual(list(m.trackers), [CFG["base"] + "/announce"])
        # copy button
        try:
            self.d.execute_cdp_cmd("Browser.grantPermissions", {
                "origin": CFG["base"], "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        except WebDriverException:
            pass
        self.d.find_element(By.ID, "copy-magnet").click()
        self.wait(lambda: "copied" in self.d.find_element(By.ID, "copy-status").text.lower(), "the copy confirmation")
        clip = self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, e => done('ERR ' + e))")
        self.assertEqual(clip, magnet)
        # download: the browser saves the very bytes that were uploaded
        self.d.find_element(By.ID, "download").click()

        def downloaded():
            # Chromium reserves the final name with an empty file when the download starts and
            # moves the bytes over it from a .crdownload file at the end: read it after that
            names = os.listdir(self.downloads)
            done = [f for f in names if f.endswith(".torrent")]
            if not done or any(f.endswith(".crdownload") for f in names):
                return None
            return done[0] if os.path.getsize(os.path.join(self.downloads, done[0])) > 0 else None
        fname = self.wait(downloaded, "the .torrent download")
        with open(os.path.join(self.downloads, fname), "rb") as f:
            self.assertEqual(f.read(), self.hy_data)

    def test_06_v1_and_v2_entries(self):
        self.open_entry(self.v1_hash)
        self.assertEqual(self.d.find_element(By.ID, "fact-version").get_attribute("data-value"), "v1")
        self.assertEqual(self.d.find_element(By.ID, "magnet").get_attribute("value"),
                         expected_magnet(self.v1_hash, None, self.v1_name))
        files = self.js("return [...document.querySelectorAll('#file-tree li.file')].map(li => li.dataset.path)")
        self.assertEqual(files, [f"{self.P}-single.bin"])
        self.assertEqual(self.d.find_elements(By.CSS_SELECTOR, "#file-tree li.dir"), [])
        self.open_entry(self.v2_hash)
        self.assertEqual(self.d.find_element(By.ID, "fact-version").get_attribute("data-value"), "v2")
        self.assertEqual(self.d.find_element(By.ID, "magnet").get_attribute("value"),
                         expected_magnet(self.v2_hash, None, self.v2_name))
        files = self.js("return [...document.querySelectorAll('#file-tree li.file')].map(li => li.dataset.path)")
        self.assertEqual(sorted(files), ["a.bin", "b/c.bin"])
        # an entry without a stored .torrent: magnet only, no download
        self.open_entry(self.sort_hashes["a"])
        self.assertEqual(self.js("return document.querySelector('article.entry').dataset.state"), "ready")
        self.assertFalse(self.d.find_element(By.ID, "download").is_displayed())
        self.assertIn("No .torrent file is stored", self.d.find_element(By.ID, "no-torrent").text)
        self.assertEqual(self.d.find_element(By.ID, "magnet").get_attribute("value"),
                         expected_magnet(self.sort_hashes["a"], None, f"{self.P} sort-a"))

    def test_07_missing_entry(self):
        missing = os.urandom(32).hex()
        self.assertEqual(http("GET", f"/api/registry?info_hash={missing}")[0], 404)
        self.open_entry(missing)
        art = self.d.find_element(By.CSS_SELECTOR, "article.entry")
        self.assertEqual(art.get_attribute("data-state"), "error")
        self.assertEqual(art.get_attribute("data-status"), "404")
        alert = self.d.find_element(By.CSS_SELECTOR, "[role=alert]")
        self.assertIn("Entry not found", alert.text)
        self.assertIn(missing, alert.text)
        self.open_entry("not-a-hash")
        self.assertEqual(self.js("return document.querySelector('article.entry').dataset.status"), "400")
        self.assertIn("not an info hash", self.d.find_element(By.CSS_SELECTOR, "[role=alert]").text)

    def test_08_registry_unavailable(self):
        # the page's fetch answers 503 for the registry, as the gateway does when it is down
        script = ("(() => { const real = window.fetch; window.fetch = (input, init) => {"
                  " const u = String(input && input.url || input);"
                  " if (u.includes('/api/registry')) return Promise.resolve(new Response("
                  "  JSON.stringify({error: 'the registry did not answer'}),"
                  "  {status: 503, headers: {'Content-Type': 'application/json'}}));"
                  " return real(input, init); }; })();")
        ident = self.d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})["identifier"]
        try:
            self.open("/?q=anything")
            self.wait(lambda: self.search_state() == "error", "the search error state")
            alert = self.d.find_element(By.CSS_SELECTOR, "#search-notice [role=alert]")
            self.assertIn("The registry is unavailable", alert.text)
            self.assertIn("503", alert.text)
            self.assertTrue(alert.find_element(By.XPATH, ".//button[text()='Retry']").is_displayed())
            self.open_entry(self.hy_hash)
            self.assertEqual(self.js("return document.querySelector('article.entry').dataset.status"), "503")
            self.assertIn("The registry is unavailable", self.d.find_element(By.CSS_SELECTOR, "[role=alert]").text)
        finally:
            self.d.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": ident})

    def test_09_registry_text_is_never_markup(self):
        self.open("/?" + urllib.parse.urlencode({"q": self.P, "category": "tools"}))
        self.wait_results([self.xss_name], "the entry with markup in its name")
        self.assertEqual(self.js("return document.querySelectorAll('#results img, #results b, #results i').length"), 0)
        self.d.find_element(By.CSS_SELECTOR, "#results .result-link").click()
        self.wait(lambda: self.js("const a = document.querySelector('article.entry'); return a && a.dataset.state")
                  == "ready", "the entry page")
        self.assertEqual(self.d.find_element(By.ID, "entry-name").text, self.xss_name)
        self.assertIn("<script>", self.d.find_element(By.ID, "description").text)
        self.assertEqual(self.js("return document.querySelectorAll('main img, main script, main b').length"), 0)
        self.assertIsNone(self.js("return window.__pwned ?? null"))

    def test_10_phone_width(self):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 375, "height": 740, "deviceScaleFactor": 2, "mobile": True})
        try:
            overflow = ("return [document.documentElement.scrollWidth, window.innerWidth,"
                        " [...document.querySelectorAll('main *')].filter(e => e.getClientRects().length"
                        "  && e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5)"
                        "  .map(e => e.tagName + '.' + e.className)]")
            self.open("/?" + urllib.parse.urlencode({"q": self.P}))
            self.wait_results(api_search(q=self.P)[0], "search at phone width")
            sw, iw, wide = self.js(overflow)
            self.assertEqual(iw, 375)
            self.assertLessEqual(sw, iw, f"the search page overflows at phone width: {wide}")
            self.assertEqual(wide, [])
            self.d.save_screenshot(os.path.join(CFG["shots"], "phone_search.png"))
            self.open_entry(self.hy_hash)
            sw, iw, wide = self.js(overflow)
            self.assertLessEqual(sw, iw, f"the entry page overflows at phone width: {wide}")
            self.assertEqual(wide, [])
            for el_id in ("download", "copy-magnet", "magnet"):
                self.assertTrue(self.d.find_element(By.ID, el_id).is_displayed(), el_id)
            self.d.save_screenshot(os.path.join(CFG["shots"], "phone_entry.png"))
        finally:
            self.d.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    def test_11_keyboard(self):
        self.open("/")
        self.wait(lambda: self.search_state() in ("ready", "empty"), "the first search")
        self.d.find_element(By.TAG_NAME, "body").send_keys("/")
        self.wait(lambda: self.js("return document.activeElement.id") == "q", "'/' to focus the search box")
        self.d.switch_to.active_element.send_keys(self.hy_name)
        self.wait_results([self.hy_name], "search typed after '/'", {"q": self.hy_name})
        # Tab from the search box reaches the result's link; Enter opens it and focuses its title
        for _ in range(30):
            self.d.switch_to.active_element.send_keys(Keys.TAB)
            if self.js("return document.activeElement.classList.contains('result-link')"):
                break
        else:
            self.fail("Tab never reached the result link")
        self.d.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait(lambda: self.js("return document.activeElement.id") == "entry-name",
                  "the entry title to take the focus")
        # folders open and close with the keyboard
        for _ in range(40):
            self.d.switch_to.active_element.send_keys(Keys.TAB)
            if self.js("const a = document.activeElement; return a.tagName === 'SUMMARY'"
                       " && a.closest('li.dir').dataset.path === 'config'"):
                break
        else:
            self.fail("Tab never reached the config folder")
        is_open = "return document.querySelector(\"#file-tree li.dir[data-path='config'] > details\").open"
        self.assertTrue(self.js(is_open))
        self.d.switch_to.active_element.send_keys(Keys.ENTER)
        self.wait(lambda: not self.js(is_open), "Enter to close the folder")
        self.d.switch_to.active_element.send_keys(" ")
        self.wait(lambda: self.js(is_open), "Space to open the folder")

    def test_12_dark_scheme(self):
        bg = "return getComputedStyle(document.body).backgroundColor"
        self.open("/")
        light = self.js(bg)
        self.d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        try:
            self.wait(lambda: self.js(bg) != light, "the dark scheme")
            self.assertEqual(self.js(bg), "rgb(15, 18, 22)")
            self.open_entry(self.hy_hash)
            self.d.save_screenshot(os.path.join(CFG["shots"], "dark_entry.png"))
        finally:
            self.d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})

    def test_13_formatting_helpers(self):
        self.open("/")
        got = self.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            import('/assets/util.js').then(u => done({
              sizes: [0, 1023, 1024, 1536, 16384, 236936515, 1024 ** 4 * 3].map(u.humanSize),
              hybrid: u.magnetLink({info_hash: 'AB'.repeat(32), v1_info_hash: 'CD'.repeat(20), name: 'a b&c'}, 'http://h:1'),
              v1: u.magnetLink({info_hash: 'ef'.repeat(20), name: 'x'}, 'http://h:1'),
              v2: u.magnetLink({info_hash: '01'.repeat(32), name: 'y'}, 'http://h:1'),
            }), e => done({error: String(e)}));""")
        self.assertEqual(got["sizes"], ["0 B", "1023 B", "1 KiB", "1.5 KiB", "16 KiB", "226 MiB", "3 TiB"])
        tr = "tr=http%3A%2F%2Fh%3A1%2Fannounce"
        self.assertEqual(got["hybrid"], f"magnet:?xt=urn:btih:{'cd' * 20}&xt=urn:btmh:1220{'ab' * 32}&dn=a%20b%26c&{tr}")
        self.assertEqual(got["v1"], f"magnet:?xt=urn:btih:{'ef' * 20}&dn=x&{tr}")
        self.assertEqual(got["v2"], f"magnet:?xt=urn:btmh:1220{'01' * 32}&dn=y&{tr}")

    def test_99_no_javascript_errors(self):
        self.assertEqual(self.js_errors, [])


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    if args[0] == "--mock":
        sys.path.insert(0, HERE)
        import webui_mock
        rate = os.environ.get("WEBUI_MOCK_RATE_LIMIT")  # e.g. "5/10": the gateway's default limit
        srv = webui_mock.start(key="mock-key", rate=tuple(float(x) for x in rate.split("/")) if rate else None)
        CFG.update(base=srv.base_url, key="mock-key", build=args[1] if len(args) > 1 else os.path.join(ROOT, "build"))
    else:
        env = {}
        with open(os.path.join(args[0], "env")) as f:
            for line in f:
                k, sep, v = line.strip().partition("=")
                if sep:
                    env[k] = v
        CFG.update(base=env["WL_TEST_HTTP"].rstrip("/"), key=env.get("REGISTRY_KEY", ""),
                   build=args[1] if len(args) > 1 else os.path.join(ROOT, "build"))
    CFG["shots"] = os.path.join(CFG["build"], "e2e-screenshots", "webui")
    os.makedirs(CFG["shots"], exist_ok=True)
    t0 = time.time()
    prog = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    print(f"webui: {time.time() - t0:.1f}s against {CFG['base']}; screenshots in {CFG['shots']}", file=sys.stderr)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
