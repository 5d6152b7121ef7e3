"""Error handling: status codes, JSON error bodies, limits, hostile input."""
import json
import socket

import pytest
import requests

from conftest import SAMPLES, Server, assert_error_body

JSON_ROUTES = [
    ("/v1/collections", {"name": "x"}),
    ("/v1/collections/c/search", {"query": "vacation"}),
    ("/v1/collections/c/ask", {"question": "vacation"}),
]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """One server for the module: these tests only add documents to 'odd' and never delete."""
    server = Server(tmp_path_factory.mktemp("errors")).start()
    server.upload_ok("c", [SAMPLES / "employee-handbook.md"])
    yield server
    server.stop()


@pytest.mark.parametrize("path,_", JSON_ROUTES)
@pytest.mark.parametrize("raw", [b"{", b"{\"query\": }", b"not json", b"", b"{\"a\":1} trailing", b"\xff\xfe"])
def test_malformed_json_is_400(srv, path, _, raw):
    r = srv.post(path, data=raw, headers={"Content-Type": "application/json"})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "JSON" in body["error"]["message"]


@pytest.mark.parametrize("path,_", JSON_ROUTES)
@pytest.mark.parametrize("value", [[], [1, 2], "text", 3, None, True])
def test_non_object_json_is_400(srv, path, _, value):
    r = srv.post(path, data=json.dumps(value), headers={"Content-Type": "application/json"})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "object" in body["error"]["message"]


@pytest.mark.parametrize("path,payload", JSON_ROUTES)
@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(srv, path, payload, ctype):
    r = srv.post(path, data=json.dumps(payload), headers={"Content-Type": ctype})
    body = assert_error_body(r, 415, "unsupported")
    assert "application/json" in body["error"]["message"]


def test_json_content_type_with_charset_is_accepted(srv):
    r = srv.post("/v1/collections/c/search", data=json.dumps({"query": "vacation"}),
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path,field", [("/v1/collections", "name"), ("/v1/collections/c/search", "query"),
                                        ("/v1/collections/c/ask", "question")])
def test_missing_field_is_400_and_names_it(srv, path, field):
    body = assert_error_body(srv.post(path, json={"unrelated": 1}), 400, "invalid_argument")
    assert f"'{field}'" in body["error"]["message"]


@pytest.mark.parametrize("method,path", [
    ("GET", "/index.htm"), ("GET", "/v2/collections"), ("GET", "/v1/nothing"), ("POST", "/v1/nothing/"),
    ("GET", "/v1/collections/c/documents/x/y"), ("DELETE", "/v1/collections//documents"),
])
def test_unknown_route_is_404_json(srv, method, path):
    body = assert_error_body(srv.request(method, path), 404, "not_found")
    assert body["error"]["message"].startswith("no route for")


@pytest.mark.parametrize("method,path,allow", [
    ("POST", "/healthz", "GET, HEAD"), ("PUT", "/v1/collections/c", "GET, HEAD, DELETE"),
    ("PATCH", "/v1/collections", "GET, HEAD, POST"), ("GET", "/v1/collections/c/search", "POST"),
    ("GET", "/index", "POST"), ("DELETE", "/retrieve", "POST"), ("OPTIONS", "/health", "GET, HEAD"),
])
def test_known_route_with_another_method_is_405_with_allow(srv, method, path, allow):
    r = srv.request(method, path)
    body = assert_error_body(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == allow
    assert method in body["error"]["message"] and allow in body["error"]["message"]


@pytest.mark.parametrize("path,location", [
    ("/health/", "/health"), ("/indexes/", "/indexes"), ("/v1/collections/", "/v1/collections?x=1"),
    ("/indexes/a%20b/documents/", "/indexes/a%20b/documents?limit=2"),
])
def test_trailing_slash_redirects_like_fastapi(srv, path, location):
    query = location.partition("?")[2]
    r = srv.get(path + ("?" + query if query else ""), allow_redirects=False)
    assert r.status_code == 307, r.text
    assert r.headers["Location"] == location and r.content == b""


@pytest.mark.parametrize("method,path,kw", [
    ("GET", "/v1/collections/ghost", {}),
    ("DELETE", "/v1/collections/ghost", {}),
    ("GET", "/v1/collections/ghost/documents", {}),
    ("GET", "/v1/collections/ghost/documents/abc", {}),
    ("DELETE", "/v1/collections/ghost/documents/abc", {}),
    ("POST", "/v1/collections/ghost/search", {"json": {"query": "vacation"}}),
    ("POST", "/v1/collections/ghost/ask", {"json": {"question": "vacation"}}),
])
def test_unknown_collection_is_404(srv, method, path, kw):
    body = assert_error_body(srv.request(method, path, **kw), 404, "not_found")
    assert "ghost" in body["error"]["message"]


@pytest.mark.parametrize("kw", [
    {"json": {"file": "abc"}},
    {"data": b"raw bytes", "headers": {"Content-Type": "application/octet-stream"}},
    {"data": {"file": "abc"}},  # urlencoded form
])
def test_upload_that_is_not_multipart_is_415(srv, kw):
    body = assert_error_body(srv.post("/v1/collections/c/documents", **kw), 415, "unsupported")
    assert "multipart" in body["error"]["message"]


def test_upload_over_max_upload_bytes_is_413(make_server):
    server = make_server(args=["--max-upload-bytes", "100000"])
    small = server.upload("lim", [("small.txt", b"small file about llamas. " * 100)])
    assert small.status_code == 200, small.text
    big = server.upload("lim", [("big.txt", b"a big file about alpacas. " * 8000)])  # ~200 KB
    assert_error_body(big, 413, "too_large")
    names = [d["name"] for d in server.documents("lim")["documents"]]
    assert names == ["small.txt"]
    assert server.healthy()


def test_file_over_parse_max_file_bytes_fails_that_file(make_server):
    server = make_server(args=["--parse-max-file-bytes", "5000"])
    r = server.upload("lim", [("big.txt", b"x" * 6000), ("ok.txt", b"small text about owls")])
    assert r.status_code == 200, r.text
    results = {x["name"]: x for x in r.json()["results"]}
    assert results["big.txt"]["status"] == "failed"
    assert results["big.txt"]["error"]["code"] == "too_large"
    assert results["ok.txt"]["status"] == "added"


def test_json_over_max_json_bytes_is_413(make_server):
    server = make_server(args=["--max-json-bytes", "2048"])
    server.upload_ok("c", [SAMPLES / "employee-handbook.md"])
    ok = server.post("/v1/collections/c/search", json={"query": "vacation " * 100})
    assert ok.status_code == 200, ok.text
    body = assert_error_body(server.post("/v1/collections/c/search", json={"query": "vacation " * 400}), 413,
                             "too_large")
    assert "max_json_bytes" in body["error"]["message"]
    assert_error_body(server.post("/v1/collections", json={"name": "n", "description": "d" * 5000}), 413)
    assert_error_body(server.get("/v1/collections/n"), 404)


@pytest.mark.parametrize("top_k", [10 ** 6, 2 ** 31, 2 ** 63, -(2 ** 63), 10 ** 30, 1e308])
def test_huge_top_k_is_400(srv, top_k):
    r = srv.post("/v1/collections/c/search", data=json.dumps({"query": "vacation", "top_k": top_k}),
                 headers={"Content-Type": "application/json"})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "top_k" in body["error"]["message"]


ODD_QUERIES = [
    "vacation 😀🎉👨‍👩‍👧", "إجازة مدفوعة الأجر vacation", "עברית \u202e\u202d vacation", "\u0000vacation\u0000",
    "vac\u200bation\ufeff", "\U0001F600" * 500, "Ω≈ç√∫˜µ≤≥÷", "日本語の休暇", "a\u0301\u0301\u0301" * 50,
    "\\u0000 %00 %s %n {0}", "' OR 1=1 --", "<script>alert(1)</script>", "\x1b[31mred\x1b[0m",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_unicode_oddities_in_queries(srv, query):
    r = srv.post("/v1/collections/c/search", json={"query": query})
    assert r.status_code in (200, 400), r.text
    assert r.json()
    a = srv.post("/v1/collections/c/ask", json={"question": query})
    assert a.status_code in (200, 400), a.text
    assert a.json()
    assert srv.healthy()


@pytest.mark.parametrize("raw", [b'{"query": "\\ud800 vacation"}', b'{"query": "\\udfff"}',
                                 b'{"query": "\xff\xfe invalid utf-8"}', b'{"query": "\xc3\x28"}',
                                 b'{"query": "ok", "filter": {"\xff": "x"}}'])
def test_invalid_unicode_in_json_does_not_crash(srv, raw):
    r = srv.post("/v1/collections/c/search", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert_error_body(r, 400)
    else:
        json.loads(r.content.decode("utf-8"))  # whatever comes back is valid UTF-8 JSON
    assert srv.healthy()


@pytest.mark.parametrize("raw", [b'{"query": "x", "top_k": 1e400}', b'{"query": "x", "alpha": -1e999}'])
def test_json_number_overflow_is_a_400(srv, raw):
    """Found by tests/fuzz/fuzz_request_json: nlohmann reports a number out of range as out_of_range, not
    parse_error, and it escaped the body parser as a 500."""
    r = srv.post("/v1/collections/c/search", data=raw, headers={"Content-Type": "application/json"})
    body = assert_error_body(r, 400, "invalid_argument")
    assert "not valid JSON" in body["error"]["message"] and "overflow" in body["error"]["message"], body
    assert srv.healthy()


def raw_multipart(filename: bytes, content: bytes, boundary=b"XyZb0undary") -> tuple[bytes, str]:
    body = (b"--" + boundary + b"\r\n"
            b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
            b"--" + boundary + b"--\r\n")
    return body, "multipart/form-data; boundary=" + boundary.decode()


ODD_FILENAMES = [
    "😀 report.txt".encode(), "تقرير.txt".encode(), "\u202egnp.txt".encode(), b"\xff\xfe\xfd.txt",
    b"caf\xe9.txt", b"a\x01b.txt", b"..%2F..%2Fescape.txt", b"../../escape.txt", b"/etc/passwd", b"dir\\win.txt",
    b"x" * 2000 + b".txt", "名前.md".encode(), b"tab\there.txt", b"nul%00.txt",
]


@pytest.mark.parametrize("index", range(len(ODD_FILENAMES)))
def test_odd_file_names_do_not_crash(srv, index):
    filename = ODD_FILENAMES[index]
    token = f"oddname{index}x"
    content = b"Odd file name test: the quokka is a small marsupial. " + token.encode() + b"\n"
    body, ctype = raw_multipart(filename, content)
    r = srv.post("/v1/collections/odd/documents", data=body, headers={"Content-Type": ctype})
    assert r.status_code in (200, 400, 415), r.text
    text = r.content.decode("utf-8")  # must be valid UTF-8
    parsed = json.loads(text)
    if r.status_code == 200:
        result = parsed["results"][0]
        assert result["status"] == "added", result
        doc = srv.get(f"/v1/collections/odd/documents/{result['doc_id']}")
        assert doc.status_code == 200
        json.loads(doc.content.decode("utf-8"))
        hits = srv.search("odd", token)["results"]
        assert [h["doc_id"] for h in hits] == [result["doc_id"]]
    listed = srv.get("/v1/collections/odd/documents")
    assert listed.status_code in (200, 404)
    json.loads(listed.content.decode("utf-8"))
    assert srv.healthy()


def test_path_traversal_in_collection_name_is_rejected(srv, tmp_path):
    for name in ("..", "...", ".tmp-x", "..%2F..%2Fetc", "%2e%2e"):
        r = srv.post(f"/v1/collections/{name}/documents", files=[("file", ("a.txt", b"escape attempt"))])
        assert r.status_code in (400, 404), (name, r.status_code, r.text)
        assert_error_body(r)
    collections_dir = srv.data_dir / "collections"
    assert set(p.name for p in collections_dir.iterdir()) <= {"c", "odd"}
    assert not (srv.data_dir / "etc").exists() and not (srv.tmp / "etc").exists()
    assert srv.healthy()


def test_garbage_on_the_socket_does_not_kill_the_server(srv):
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"POST /v1/collections HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                 b"POST /v1/collections HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                 b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(junk)
            s.shutdown(socket.SHUT_WR)
            try:
                s.recv(65536)
            except OSError:
                pass
    assert srv.healthy()
    assert srv.search("c", "vacation")["results"]


def test_every_error_is_json_with_code_and_message(srv):
    """A sweep over many failing requests (the individual tests check the status codes)."""
    failing = [
        srv.get("/nope"), srv.post("/v1/collections", json={}), srv.post("/v1/collections", data="{"),
        srv.get("/v1/collections/ghost"), srv.post("/v1/collections/c/search", json={"query": ""}),
        srv.post("/v1/collections/c/documents", json={}), srv.get("/v1/collections/c/documents?limit=0"),
        srv.delete("/v1/collections/c/documents/nothing"),
    ]
    for r in failing:
        assert r.status_code >= 400
        assert_error_body(r)
