"""API keys: KAITO_RAG_API_KEYS / --api-keys."""
import pytest
import requests

from conftest import SAMPLES, assert_error_body

PUBLIC = ["/healthz", "/readyz", "/metrics", "/openapi.json"]
PROTECTED = [
    ("GET", "/v1/collections", {}),
    ("POST", "/v1/collections", {"json": {"name": "made-without-key"}}),
    ("GET", "/v1/collections/hb", {}),
    ("DELETE", "/v1/collections/hb", {}),
    ("GET", "/v1/collections/hb/documents", {}),
    ("POST", "/v1/collections/hb/documents", {"files": [("file", ("x.txt", b"sneaky upload"))]}),
    ("GET", "/v1/collections/hb/documents/abc", {}),
    ("DELETE", "/v1/collections/hb/documents/abc", {}),
    ("POST", "/v1/collections/hb/search", {"json": {"query": "vacation"}}),
    ("POST", "/v1/collections/hb/ask", {"json": {"question": "vacation"}}),
    ("POST", "/v1/collections/hb/ask", {"json": {"question": "vacation", "stream": True}}),
    ("GET", "/v1/no-such-route", {}),
]


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    from conftest import Server
    s = Server(tmp_path_factory.mktemp("auth"), env={"KAITO_RAG_API_KEYS": "k1,k2"}, api_key="k1").start()
    s.upload_ok("hb", [SAMPLES / "employee-handbook.md"])
    yield s
    s.stop()


def call(server, method, path, headers=None, **kw):
    return requests.request(method, server.url + path, headers={"Connection": "close", **(headers or {})},
                            timeout=30, **kw)


@pytest.mark.parametrize("path", PUBLIC)
def test_public_routes_need_no_key(auth_server, path):
    assert call(auth_server, "GET", path).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "},
                                     {"Authorization": "Bearer k1x"},
                                     {"Authorization": "Basic azE6"}, {"Authorization": "k1"},
                                     {"Authorization": "Bearer k1,k2"}, {"X-API-Key": "k1"}],
                         ids=["none", "wrong", "empty", "key-prefix", "basic", "no-scheme",
                              "both-keys", "other-header"])
@pytest.mark.parametrize("method,path,kw", PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_protected_routes_reject_missing_or_wrong_key(auth_server, method, path, kw, headers):
    r = call(auth_server, method, path, headers=headers, **kw)
    body = assert_error_body(r, 401, "unauthenticated")
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert "key" in body["error"]["message"].lower()


def test_rejected_requests_change_nothing(auth_server):
    call(auth_server, "POST", "/v1/collections", json={"name": "made-without-key"})
    call(auth_server, "POST", "/v1/collections/hb/documents", files=[("file", ("x.txt", b"sneaky upload"))])
    call(auth_server, "DELETE", "/v1/collections/hb")
    names = [c["name"] for c in auth_server.get("/v1/collections").json()["collections"]]
    assert names == ["hb"]
    assert auth_server.documents("hb")["total"] == 1


@pytest.mark.parametrize("key", ["k1", "k2"])
def test_either_key_works(auth_server, key):
    h = {"Authorization": f"Bearer {key}"}
    assert call(auth_server, "GET", "/v1/collections", headers=h).status_code == 200
    r = call(auth_server, "POST", "/v1/collections/hb/search", headers=h, json={"query": "vacation"})
    assert r.status_code == 200 and r.json()["results"]
    r = call(auth_server, "POST", "/v1/collections/hb/ask", headers=h, json={"question": "vacation days"})
    assert r.status_code == 200
    assert call(auth_server, "GET", "/v1/nope", headers=h).status_code == 404


def test_bearer_scheme_is_case_insensitive(auth_server):
    for scheme in ("bearer", "BEARER"):
        r = call(auth_server, "GET", "/v1/collections", headers={"Authorization": f"{scheme} k1"})
        assert r.status_code == 200, (scheme, r.text)


def test_api_keys_flag(make_server):
    server = make_server(args=["--api-keys", " alpha , beta "])
    assert call(server, "GET", "/v1/collections").status_code == 401
    assert call(server, "GET", "/v1/collections", headers={"Authorization": "Bearer beta"}).status_code == 200
    assert call(server, "GET", "/v1/collections", headers={"Authorization": "Bearer gamma"}).status_code == 401


def test_no_keys_means_no_auth(server):
    assert call(server, "GET", "/v1/collections").status_code == 200
    assert call(server, "GET", "/v1/collections", headers={"Authorization": "Bearer anything"}).status_code == 200


def test_keys_do_not_leak_into_logs_or_metrics(auth_server):
    call(auth_server, "GET", "/v1/collections", headers={"Authorization": "Bearer wrong-key-zz9"})
    call(auth_server, "GET", "/v1/collections", headers={"Authorization": "Bearer k2"})
    metrics = call(auth_server, "GET", "/metrics").text
    assert 'route="unauthenticated"' in metrics
    for secret in ("wrong-key-zz9", "k1,k2"):
        assert secret not in metrics
        assert secret not in auth_server.log()
