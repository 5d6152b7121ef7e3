"""Document sources kept in sync (issue 13): watched folders and URLs, through the HTTP API and the CLI.

URL sources are fetched from local HTTP servers on 127.0.0.1: refused by default (loopback), fetched when
the test allows 127.0.0.1, and refused again when a redirect leads to another loopback address."""
import http.server
import json
import shutil
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, free_port


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def doc_names(server, collection):
    r = server.get(f"/v1/collections/{collection}/documents")
    assert r.status_code == 200, r.text
    return sorted(d["name"] for d in r.json()["documents"])


def add_source(server, collection, **body):
    r = server.post(f"/v1/collections/{collection}/sources", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def sync(server, collection, source_id):
    return server.post(f"/v1/collections/{collection}/sources/{source_id}/sync?wait=true")


# -- watched folders ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def folder_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sources_folder")
    (tmp / "roots").mkdir()
    s = Server(tmp, args=["--source-folder-roots", str(tmp / "roots"), "--source-stable-seconds", "1",
                          "--source-scheduler-seconds", "0.3"]).start()
    yield s
    s.stop()


def test_watched_folder_follows_add_change_delete(folder_server):
    s = folder_server
    folder = s.tmp / "roots" / "policies"
    folder.mkdir()
    (folder / "vacation.md").write_text("# Vacation\nEmployees get 25 days of paid vacation.\n")
    (folder / "notes.bin").write_bytes(b"\x00\x01 ignored by the extension filter")
    s.create_collection("watched")
    src = add_source(s, "watched", kind="folder", location=str(folder), interval_seconds=1,
                     extensions=[".md", ".txt"])
    assert src["id"] == "src-1" and src["kind"] == "folder" and src["credentials"] == "none"

    # The scheduler picks the folder up on its own once the file is stable.
    wait_for(lambda: doc_names(s, "watched") == ["vacation.md"], what="vacation.md ingested")

    (folder / "vacation.md").write_text("# Vacation\nEmployees get 30 days of paid vacation.\n")
    (folder / "leave.txt").write_text("Parental leave is sixteen weeks.\n")
    wait_for(lambda: doc_names(s, "watched") == ["leave.txt", "vacation.md"], what="leave.txt ingested")

    def vacation_updated():
        hits = s.post("/v1/collections/watched/search", json={"query": "paid vacation days", "mode": "bm25"}).json()
        return hits["results"] and "30 days" in hits["results"][0]["text"]
    wait_for(vacation_updated, what="the changed file re-ingested")

    (folder / "leave.txt").unlink()
    wait_for(lambda: doc_names(s, "watched") == ["vacation.md"], what="leave.txt removed")

    status = s.get(f"/v1/collections/watched/sources/{src['id']}").json()
    assert status["last_run"]["trigger"] == "schedule"
    assert status["last_run"]["error"] is None
    assert status["items"] == 1 and status["failures"] == []
    hit = s.post("/v1/collections/watched/search", json={"query": "vacation", "mode": "bm25"}).json()["results"][0]
    assert hit["metadata"]["source_id"] == src["id"] and hit["metadata"]["source_kind"] == "folder"


def test_a_file_being_written_waits_until_it_is_stable(folder_server):
    s = folder_server
    folder = s.tmp / "roots" / "growing"
    folder.mkdir()
    s.create_collection("growing")
    src = add_source(s, "growing", kind="folder", location=str(folder))  # on demand only
    with open(folder / "report.md", "w") as f:
        f.write("# Quarterly report\nFirst half of the report")
        f.flush()
        r = sync(s, "growing", src["id"])
        assert r.status_code == 200, r.text
        assert r.json()["pending"] == 1 and r.json()["added"] == 0
        assert doc_names(s, "growing") == []
        f.write(", and the second half about revenue.\n")
    time.sleep(1.2)  # source_stable_seconds = 1
    r = sync(s, "growing", src["id"])
    assert r.json()["added"] == 1 and r.json()["pending"] == 0
    hits = s.post("/v1/collections/growing/search", json={"query": "revenue", "mode": "bm25"}).json()["results"]
    assert "second half about revenue" in hits[0]["text"]
    again = sync(s, "growing", src["id"]).json()
    assert (again["added"], again["updated"], again["unchanged"], again["deleted"]) == (0, 0, 1, 0)


def test_folder_sources_are_validated(folder_server):
    s = folder_server
    s.create_collection("checks")
    outside = s.tmp / "outside"
    outside.mkdir()
    r = s.post("/v1/collections/checks/sources", json={"kind": "folder", "location": str(outside)})
    assert r.status_code == 403 and "source_folder_roots" in r.json()["error"]["message"]
    escape = str(s.tmp / "roots" / ".." / "outside")
    assert s.post("/v1/collections/checks/sources", json={"kind": "folder", "location": escape}).status_code == 403
    r = s.post("/v1/collections/checks/sources", json={"kind": "ftp", "location": "x"})
    assert r.status_code == 400 and "folder, url or azure_blob" in r.json()["error"]["message"]
    r = s.post("/v1/collections/checks/sources", json={"kind": "folder"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument"
    r = s.post("/v1/collections/nope/sources", json={"kind": "folder", "location": str(s.tmp / "roots")})
    assert r.status_code == 404
    assert s.post("/v1/collections/checks/sources/src-9/sync?wait=true").status_code == 404
    assert s.get("/v1/collections/checks/sources").json() == {"sources": []}


def test_removing_a_source_and_its_collection(folder_server):
    s = folder_server
    folder = s.tmp / "roots" / "removal"
    folder.mkdir()
    (folder / "a.md").write_text("Alpha text.\n")
    time.sleep(1.1)
    s.create_collection("removal")
    src = add_source(s, "removal", kind="folder", location=str(folder))
    assert sync(s, "removal", src["id"]).json()["added"] == 1
    r = s.delete(f"/v1/collections/removal/sources/{src['id']}")
    assert r.status_code == 200
    assert doc_names(s, "removal") == []
    # A collection's sources go with it: a new collection of that name starts without any.
    src = add_source(s, "removal", kind="folder", location=str(folder))
    assert s.delete("/v1/collections/removal").status_code == 200
    s.create_collection("removal")
    assert s.get("/v1/collections/removal/sources").json() == {"sources": []}


def test_sync_state_survives_a_restart(tmp_path):
    folder = tmp_path / "roots" / "docs"
    folder.mkdir(parents=True)
    (folder / "a.md").write_text("Alpha text.\n")
    time.sleep(1.1)
    s = Server(tmp_path, args=["--source-folder-roots", str(tmp_path / "roots"), "--source-stable-seconds", "1"])
    s.start()
    try:
        s.create_collection("docs")
        src = add_source(s, "docs", kind="folder", location=str(folder))
        assert sync(s, "docs", src["id"]).json()["added"] == 1
        s.restart()
        status = s.get(f"/v1/collections/docs/sources/{src['id']}").json()
        assert status["last_run"]["added"] == 1 and status["items"] == 1
        assert sync(s, "docs", src["id"]).json()["unchanged"] == 1
    finally:
        s.stop()


def test_cli_sources_add_sync_list(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("Alpha text about budgets.\n")
    time.sleep(1.1)
    data = tmp_path / "data"

    def cli(*args):
        r = subprocess.run([str(BIN), *args, "--data-dir", str(data), "--source-stable-seconds", "1"],
                           capture_output=True, text=True, timeout=60)
        return r

    added = cli("sources", "add", "folder", str(folder), "-c", "kb", "--json")
    assert added.returncode == 0, added.stderr
    source_id = json.loads(added.stdout)["id"]
    synced = cli("sources", "sync", source_id, "-c", "kb", "--json")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["added"] == 1
    listed = cli("sources", "list", "-c", "kb", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["id"] == source_id and entry["items"] == 1 and entry["last_run"]["trigger"] == "cli"
    missing = cli("sources", "sync", "src-42", "-c", "kb")
    assert missing.returncode == 1 and "no source 'src-42'" in missing.stderr


# -- URLs ---------------------------------------------------------------------------------------------------

class Site:
    """A local web server whose pages the test changes: path -> (status, headers, body)."""

    def __init__(self, host="127.0.0.1"):
        self.pages = {}
        self.requests = []  # (path, request headers) in arrival order
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                status, headers, body = site.pages.get(self.path, (404, {}, b"not here"))
                if callable(body):
                    return body(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer((host, free_port()), Handler)
        self.base = f"http://{host}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.close()


@pytest.fixture(scope="module")
def url_server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("sources_url"),
               args=["--source-url-allow", "127.0.0.1", "--source-max-bytes", "100000",
                     "--source-timeout-seconds", "2"]).start()
    yield s
    s.stop()


def test_urls_on_loopback_are_refused_by_default(tmp_path, site):
    site.pages["/secret"] = (200, {"Content-Type": "text/plain"}, b"internal admin data")
    s = Server(tmp_path).start()
    try:
        s.create_collection("web")
        src = add_source(s, "web", kind="url", location=site.base + "/secret")
        r = sync(s, "web", src["id"])
        assert r.status_code == 403, r.text
        message = r.json()["error"]["message"]
        assert "127.0.0.1" in message and "loopback" in message and "source_url_allow" in message
        assert doc_names(s, "web") == []
        status = s.get(f"/v1/collections/web/sources/{src['id']}").json()
        assert "loopback" in status["last_run"]["error"]
        r = s.post("/v1/collections/web/sources", json={"kind": "url", "location": "file:///etc/passwd"})
        assert r.status_code == 400 and "http and https" in r.json()["error"]["message"]
    finally:
        s.stop()


def test_url_fetched_updated_and_removed_when_allowed(url_server, site):
    s = url_server
    site.pages["/guide"] = (200, {"Content-Type": "text/html; charset=utf-8"},
                            b"<html><body><h1>Guide</h1><p>The office opens at nine.</p></body></html>")
    s.create_collection("web")
    src = add_source(s, "web", kind="url", location=site.base + "/guide")
    first = sync(s, "web", src["id"])
    assert first.status_code == 200, first.text
    assert first.json()["added"] == 1
    assert doc_names(s, "web") == ["guide.html"]
    hit = s.post("/v1/collections/web/search", json={"query": "office opens", "mode": "bm25"}).json()["results"][0]
    assert "opens at nine" in hit["text"] and "<p>" not in hit["text"]
    assert hit["metadata"]["url"] == site.base + "/guide"
    assert sync(s, "web", src["id"]).json()["unchanged"] == 1

    site.pages["/guide"] = (200, {"Content-Type": "text/html"},
                            b"<html><body><p>The office opens at ten.</p></body></html>")
    assert sync(s, "web", src["id"]).json()["updated"] == 1
    hit = s.post("/v1/collections/web/search", json={"query": "office opens", "mode": "bm25"}).json()["results"][0]
    assert "opens at ten" in hit["text"]

    del site.pages["/guide"]  # 404: the page is gone, and so is its document
    assert sync(s, "web", src["id"]).json()["deleted"] == 1
    assert doc_names(s, "web") == []


def test_redirects_are_rechecked(url_server, site):
    s = url_server
    other = Site(host="127.0.0.2")  # loopback too, but not on the allow list
    try:
        other.pages["/x"] = (200, {"Content-Type": "text/plain"}, b"should never be read")
        site.pages["/hop"] = (302, {"Location": other.base + "/x"}, b"")
        site.pages["/moved"] = (301, {"Location": "/final"}, b"")
        site.pages["/final"] = (200, {"Content-Type": "text/plain"}, b"Relative redirects are followed.")
        s.create_collection("redirects")
        hop = add_source(s, "redirects", kind="url", location=site.base + "/hop")
        r = sync(s, "redirects", hop["id"])
        assert r.status_code == 403 and "127.0.0.2" in r.json()["error"]["message"]
        moved = add_source(s, "redirects", kind="url", location=site.base + "/moved")
        r = sync(s, "redirects", moved["id"])
        assert r.status_code == 200 and r.json()["added"] == 1, r.text
    finally:
        other.close()


def test_size_and_time_limits(url_server, site):
    s = url_server
    site.pages["/huge"] = (200, {"Content-Type": "text/plain"}, b"x" * 200_000)

    def slow(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        for _ in range(40):
            handler.wfile.write(b"slow bytes ")
            handler.wfile.flush()
            time.sleep(0.1)
    site.pages["/slow"] = (200, {}, slow)
    s.create_collection("limits")
    huge = add_source(s, "limits", kind="url", location=site.base + "/huge")
    r = sync(s, "limits", huge["id"])
    assert r.status_code == 413 and "source_max_bytes" in r.json()["error"]["message"]
    slow_src = add_source(s, "limits", kind="url", location=site.base + "/slow")
    started = time.monotonic()
    r = sync(s, "limits", slow_src["id"])
    assert r.status_code == 504 and "source_timeout_seconds" in r.json()["error"]["message"], r.text
    assert time.monotonic() - started < 4
    assert doc_names(s, "limits") == []


# -- every source of a collection at once -------------------------------------------------------------------

def test_collection_sync_runs_every_source(tmp_path, site):
    # Its own server with a long source timeout: the slow page is held until the test has seen it syncing.
    s = Server(tmp_path, args=["--source-url-allow", "127.0.0.1", "--source-max-bytes", "100000",
                               "--source-timeout-seconds", "60"]).start()
    release = threading.Event()

    def slow_page(handler):
        release.wait(timeout=30)
        body = b"The slow page says the canteen closes at three."
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    site.pages["/slow-page"] = (200, {}, slow_page)
    site.pages["/fast-page"] = (200, {"Content-Type": "text/plain"}, b"The fast page says parking is free.")
    try:
        collection_sync_checks(s, site, release)
    finally:
        release.set()
        s.stop()


def collection_sync_checks(s, site, release):
    s.create_collection("everything")
    slow_src = add_source(s, "everything", kind="url", location=site.base + "/slow-page")
    fast_src = add_source(s, "everything", kind="url", location=site.base + "/fast-page")

    started = s.post("/v1/collections/everything/sync")
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["collection"] == "everything"
    assert [e["id"] for e in body["sources"]] == [slow_src["id"], fast_src["id"]]
    assert all(e["started"] and e["error"] is None for e in body["sources"])
    assert body["sources"][0]["source"]["status"] == "syncing"

    again = s.post("/v1/collections/everything/sync").json()["sources"][0]  # the slow one is still running
    assert again["started"] is False and again["error"]["code"] == "failed_precondition"
    assert "already syncing" in again["error"]["message"]
    release.set()

    def both_idle():
        listed = s.get("/v1/collections/everything/sources").json()["sources"]
        return all(src["status"] == "idle" and src["last_run"] for src in listed)
    wait_for(both_idle, what="both syncs finished")
    assert doc_names(s, "everything") == ["fast-page.txt", "slow-page.txt"]

    waited = s.post("/v1/collections/everything/sync?wait=true")
    assert waited.status_code == 200, waited.text
    reports = {e["id"]: e for e in waited.json()["sources"]}
    assert all(e["error"] is None and e["report"]["unchanged"] == 1 for e in reports.values())

    del site.pages["/fast-page"]
    site.pages["/slow-page"] = (200, {"Content-Type": "text/plain"}, b"x" * 200_000)  # over source_max_bytes now
    mixed = {e["id"]: e for e in s.post("/v1/collections/everything/sync?wait=true").json()["sources"]}
    assert mixed[fast_src["id"]]["report"]["deleted"] == 1  # one source failing does not stop the other
    assert mixed[slow_src["id"]]["report"] is None
    assert mixed[slow_src["id"]]["error"]["code"] == "too_large"

    assert s.post("/v1/collections/nowhere/sync").status_code == 404
    r = s.post("/v1/collections/everything/sync?wait=maybe")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_argument"


def test_cli_sync_collection(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "Budgets are reviewed in March.\n"), (second, "Audits happen in June.\n")):
        folder.mkdir()
        (folder / "note.md").write_text(text)
    time.sleep(1.1)
    data = tmp_path / "data"

    def cli(*args):
        return subprocess.run([str(BIN), *args, "--data-dir", str(data), "--source-stable-seconds", "1"],
                              capture_output=True, text=True, timeout=60)

    for folder in (first, second):
        assert cli("sources", "add", "folder", str(folder), "-c", "kb").returncode == 0
    synced = cli("sync", "kb", "--json")
    assert synced.returncode == 0, synced.stderr
    out = json.loads(synced.stdout)
    assert out["collection"] == "kb"
    assert [(e["id"], e["report"]["added"], e["error"]) for e in out["sources"]] == [("src-1", 1, None),
                                                                                     ("src-2", 1, None)]
    shutil.rmtree(second)  # a source that cannot be listed fails alone, and the exit code says so
    (first / "more.md").write_text("Travel is booked through the portal.\n")
    time.sleep(1.1)
    text = cli("sync", "kb")
    assert text.returncode == 1
    assert "Synced src-1: 2 listed, 1 added, 0 updated, 1 unchanged" in text.stdout
    assert "src-2" in text.stderr
    missing = cli("sync", "nope")
    assert missing.returncode == 1 and "does not exist" in missing.stderr


# -- conditional re-fetch, robots.txt, same-site crawl ------------------------------------------------------

def conditional_page(text, etag=None, last_modified=None):
    """A page that answers 304 when the request's validator matches, and counts full downloads."""
    state = {"downloads": 0}

    def handler(h):
        if (etag and h.headers.get("If-None-Match") == etag) or \
           (last_modified and h.headers.get("If-Modified-Since") == last_modified):
            h.send_response(304)
            h.end_headers()
            return
        state["downloads"] += 1
        body = text.encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        if etag:
            h.send_header("ETag", etag)
        if last_modified:
            h.send_header("Last-Modified", last_modified)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return handler, state


def test_url_refetch_is_conditional(url_server, site):
    s = url_server
    by_etag, etag_state = conditional_page("The library opens at eight.", etag='"v1"')
    by_date, date_state = conditional_page("The gym opens at six.", last_modified="Tue, 01 Dec 2026 10:00:00 GMT")
    site.pages["/etag-page"] = (200, {}, by_etag)
    site.pages["/dated-page"] = (200, {}, by_date)
    s.create_collection("conditional")
    etag_src = add_source(s, "conditional", kind="url", location=site.base + "/etag-page")
    date_src = add_source(s, "conditional", kind="url", location=site.base + "/dated-page")
    for src in (etag_src, date_src):
        assert sync(s, "conditional", src["id"]).json()["added"] == 1
    site.requests.clear()
    for src in (etag_src, date_src):
        again = sync(s, "conditional", src["id"]).json()
        assert (again["unchanged"], again["updated"], again["added"]) == (1, 0, 0)
    assert (etag_state["downloads"], date_state["downloads"]) == (1, 1)  # the re-syncs got 304s
    sent = {path: headers for path, headers in site.requests}
    assert sent["/etag-page"]["If-None-Match"] == '"v1"'
    assert sent["/dated-page"]["If-Modified-Since"] == "Tue, 01 Dec 2026 10:00:00 GMT"
    assert sent["/etag-page"]["User-Agent"] == "kaito-rag"

    changed, changed_state = conditional_page("The library opens at nine.", etag='"v2"')
    site.pages["/etag-page"] = (200, {}, changed)
    assert sync(s, "conditional", etag_src["id"]).json()["updated"] == 1
    hit = s.post("/v1/collections/conditional/search", json={"query": "library opens", "mode": "bm25"}).json()
    assert "nine" in hit["results"][0]["text"] and changed_state["downloads"] == 1


def test_robots_txt_is_obeyed(url_server, site):
    s = url_server
    site.pages["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                                 b"User-agent: *\nDisallow: /private/\n\nUser-agent: otherbot\nDisallow: /\n")
    site.pages["/private/plan.txt"] = (200, {"Content-Type": "text/plain"}, b"Merger plans.")
    site.pages["/public.txt"] = (200, {"Content-Type": "text/plain"}, b"Opening hours are posted at the door.")
    try:
        s.create_collection("robots")
        private = add_source(s, "robots", kind="url", location=site.base + "/private/plan.txt")
        r = sync(s, "robots", private["id"])
        assert r.status_code == 403, r.text
        assert "robots.txt disallows /private/plan.txt" in r.json()["error"]["message"]
        public = add_source(s, "robots", kind="url", location=site.base + "/public.txt")
        assert sync(s, "robots", public["id"]).json()["added"] == 1
        assert doc_names(s, "robots") == ["public.txt"]
        assert not any(path == "/private/plan.txt" for path, _ in site.requests)
    finally:
        del site.pages["/robots.txt"]


def html(*links, text=""):
    anchors = "".join(f'<a href="{link}">link</a> ' for link in links)
    return (200, {"Content-Type": "text/html"}, f"<html><body><p>{text}</p>{anchors}</body></html>".encode())


def test_same_site_crawl_with_depth_page_limits_and_robots(url_server):
    s = url_server
    site, elsewhere = Site(), Site(host="127.0.0.2")  # 127.0.0.2 is another site (and not allowed)
    try:
        site.pages["/robots.txt"] = (200, {}, b"User-agent: kaito-rag\nDisallow: /docs/secret\n")
        site.pages["/docs/index.html"] = html("a.html", "/docs/secret.html", elsewhere.base + "/x", "#top",
                                              "mailto:someone@example.org", text="Handbook index.")
        site.pages["/docs/a.html"] = html("deep.html", "index.html", text="Chapter A covers hiring.")
        site.pages["/docs/deep.html"] = html(text="The deep chapter covers pensions.")
        site.pages["/docs/secret.html"] = html(text="Secret salaries.")
        elsewhere.pages["/x"] = html(text="Another site.")
        s.create_collection("crawl")
        one = add_source(s, "crawl", kind="url", location=site.base + "/docs/index.html", crawl_depth=1)
        assert one["crawl_depth"] == 1 and one["max_pages"] == 0
        r = sync(s, "crawl", one["id"]).json()
        assert (r["listed"], r["added"]) == (2, 2), r
        assert doc_names(s, "crawl") == ["a.html", "index.html"]
        assert elsewhere.requests == []  # other sites are never requested
        assert not any(path == "/docs/secret.html" for path, _ in site.requests)
        assert not any(path == "/docs/deep.html" for path, _ in site.requests)  # depth 2

        s.create_collection("crawl2")
        two = add_source(s, "crawl2", kind="url", location=site.base + "/docs/index.html", crawl_depth=2)
        r = sync(s, "crawl2", two["id"]).json()
        assert r["added"] == 3 and doc_names(s, "crawl2") == ["a.html", "deep.html", "index.html"]
        del site.pages["/docs/deep.html"]
        r = sync(s, "crawl2", two["id"]).json()
        assert (r["deleted"], r["unchanged"]) == (1, 2), r
        assert doc_names(s, "crawl2") == ["a.html", "index.html"]

        s.create_collection("crawl3")
        capped = add_source(s, "crawl3", kind="url", location=site.base + "/docs/index.html", crawl_depth=5,
                            max_pages=1)
        assert sync(s, "crawl3", capped["id"]).json()["listed"] == 1

        r = s.post("/v1/collections/crawl3/sources", json={"kind": "url", "location": site.base, "crawl_depth": 11})
        assert r.status_code == 400 and "crawl_depth" in r.json()["error"]["message"]
        r = s.post("/v1/collections/crawl3/sources",
                   json={"kind": "folder", "location": "/tmp", "crawl_depth": 1})
        assert r.status_code == 400 and "url sources only" in r.json()["error"]["message"]
    finally:
        site.close()
        elsewhere.close()
