"""Identity and access (issue 11): API keys (shared and named), OIDC access tokens from a real OpenID
provider, per-collection permissions, private collections, and the safe defaults. SECURITY.md quotes
the figures these tests establish."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import subprocess
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import BIN, SAMPLES, Server, assert_error_body, free_port, run_cli
from oidc import AUDIENCE, AUDIENCE_ES, TEST_KID, OidcProvider

SHARED_KEY = "shared-admin-key-for-tests"
# What may answer without a credential: probes, the API description, how to sign in (and /metrics
# while metrics_require_auth is off).
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/health"), ("GET", "/openapi.json"),
          ("GET", "/v1/auth/config"),
          # The web UI's static files (no data; the page asks for a credential itself).
          ("GET", "/"), ("GET", "/index.html"), ("GET", "/assets/{file}"), ("GET", "/favicon.svg")}
SECRET_WORD = "zebra4711"


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    p = OidcProvider(tmp_path_factory.mktemp("oidc"))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def srv(tmp_path_factory, provider):
    """Shared keys + named keys + OIDC; 'hb' is shared, 'alice-notes' is alice's private collection."""
    s = Server(tmp_path_factory.mktemp("auth"), api_key=SHARED_KEY, args=[
        "--api-keys", SHARED_KEY, "--oidc-issuer", provider.issuer, "--oidc-audience", f"{AUDIENCE},{AUDIENCE_ES}",
        "--oidc-jwks-min-refresh-seconds", "0"]).start()
    s.upload_ok("hb", [SAMPLES / "employee-handbook.md"])
    alice = provider.token("alice")
    r = call(s, "POST", "/v1/collections", alice, json={"name": "alice-notes", "visibility": "private"})
    assert r.status_code == 201, r.text
    assert r.json()["visibility"] == "private"
    r = call(s, "POST", "/v1/collections/alice-notes/documents", alice,
             files=[("file", ("notes.txt", f"My private launch code is {SECRET_WORD}. Vacation days are 25."))])
    assert r.status_code == 200, r.text
    yield s
    s.stop()


def call(server, method, path, token=None, headers=None, **kw):
    h = {"Connection": "close", **(headers or {})}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url + path, headers=h, timeout=60, **kw)


def make_key(server, name, scopes, **extra) -> str:
    r = call(server, "POST", "/v1/auth/keys", SHARED_KEY, json={"name": name, "scopes": scopes, **extra})
    assert r.status_code == 201, r.text
    return r.json()["secret"]


# -- the route walk ------------------------------------------------------------------------------
_ROUTES: list[dict] = []


def registered_routes() -> list[dict]:
    """`kaito-rag routes --json`: what the router registers, with the rule applied to each."""
    if not _ROUTES:
        proc = run_cli("routes", "--json", "--data-dir", "/nonexistent/kaito-rag-routes", check=True)
        _ROUTES.extend(json.loads(proc.stdout))
    return _ROUTES


def documented_routes(server) -> set[tuple[str, str]]:
    doc = call(server, "GET", "/openapi.json").json()
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m not in ("parameters", "summary")}


def concrete(path: str, collection: str = "hb") -> str:
    return (path.replace("{index_name}", collection).replace("{doc_id}", "doc1").replace("{job_id}", "1")
            .replace("/v1/auth/keys/{name}", "/v1/auth/keys/somekey").replace("{name}", collection))


def test_every_route_is_documented_and_only_probes_are_public(srv):
    registered = registered_routes()
    pairs = {(r["method"], r["route"]) for r in registered}
    assert len(pairs) == len(registered), "a route is registered twice"
    assert pairs == documented_routes(srv), "registered and documented routes differ"
    for r in registered:
        key = (r["method"], r["route"])
        if key in PUBLIC:
            assert r["access"] == "public", r
        elif key == ("GET", "/metrics"):
            assert r["access"] == "metrics", r
        else:
            assert r["access"] in ("authenticated", "global-admin") or r["access"].startswith("collection:"), r
    assert len(registered) >= 33  # 33 when this was written


BAD_CREDENTIALS = {
    "none": {},
    "wrong-key": {"Authorization": "Bearer wrong"},
    "empty": {"Authorization": "Bearer "},
    "key-prefix": {"Authorization": f"Bearer {SHARED_KEY}x"},
    "basic": {"Authorization": "Basic " + base64.b64encode(f"u:{SHARED_KEY}".encode()).decode()},
    "no-scheme": {"Authorization": SHARED_KEY},
    "other-header": {"X-API-Key": SHARED_KEY},
    "named-key-shape": {"Authorization": "Bearer kr_000000000000_notarealsecret"},
}


@pytest.mark.parametrize("cred", list(BAD_CREDENTIALS) + ["expired-token", "alg-none-token"])
def test_route_walk_without_a_valid_credential(srv, provider, cred):
    if cred == "expired-token":
        headers = {"Authorization": "Bearer " + provider.mint(exp=int(time.time()) - 3600, roles=["admin"])}
    elif cred == "alg-none-token":
        headers = {"Authorization": "Bearer " + jwt.encode(provider.claims(roles=["admin"]), None, algorithm="none")}
    else:
        headers = BAD_CREDENTIALS[cred]
    routes = documented_routes(srv) | {(r["method"], r["route"]) for r in registered_routes()}
    routes |= {("GET", "/v1/no-such-route"), ("POST", "/v1/collections/hb/nothing-here")}
    answered = []
    for method, path in sorted(routes):
        r = call(srv, method, concrete(path), headers=headers, json={"name": "x", "index_name": "hb", "query": "q"})
        if (method, path) in PUBLIC or (method, path) == ("GET", "/metrics"):
            # A UI asset named by the placeholder does not exist: 404, but never 401.
            expected = (200, 404) if path == "/assets/{file}" else (200,)
            assert r.status_code in expected, (method, path, r.status_code, r.text[:200])
            answered.append(path)
            continue
        body = assert_error_body(r, 401, "unauthenticated")
        assert r.headers.get("WWW-Authenticate") == "Bearer", (method, path)
        assert body["error"]["message"], (method, path)
    assert sorted(answered) == sorted(p for _, p in PUBLIC | {("GET", "/metrics")})
    # Nothing was created or deleted by the walk.
    names = [c["name"] for c in call(srv, "GET", "/v1/collections", SHARED_KEY).json()["collections"]]
    assert sorted(names) == ["alice-notes", "hb"]


def test_route_walk_with_insufficient_permission_gets_403(srv, provider):
    """A named key for another collection and an OIDC user without roles: every route that needs a
    permission on 'hb' or global admin answers 403; nothing changes."""
    other_key = make_key(srv, "walk-other", ["other:read"])
    credentials = {"key": other_key, "oidc-norole": provider.token("norole"), "oidc-reader": provider.token("bob")}
    routes = registered_routes()
    for name, token in credentials.items():
        for r in routes:
            if r["access"] == "global-admin" or (r["access"].startswith("collection:") and
                                                 not (name == "oidc-reader" and r["access"] == "collection:read")):
                resp = call(srv, r["method"], concrete(r["route"]), token, json={})
                assert_error_body(resp, 403, "permission_denied")
    assert call(srv, "GET", "/v1/collections/hb", credentials["oidc-reader"]).status_code == 200
    assert len(call(srv, "GET", "/v1/collections/hb/documents", SHARED_KEY).json()["documents"]) == 1


def test_metrics_open_by_default_without_collection_names(srv):
    r = call(srv, "GET", "/metrics")
    assert r.status_code == 200
    assert "alice-notes" not in r.text and 'collection="hb"' not in r.text
    assert re.search(r"^kaito_rag_collections 2$", r.text, re.M), r.text[-500:]


def test_metrics_can_require_auth_and_name_collections_when_asked(make_server):
    s = make_server(args=["--api-keys", "k", "--metrics-require-auth", "true", "--metrics-collection-labels", "true"],
                    api_key="k")
    s.upload_ok("named", [("a.txt", b"alpha beta gamma")])
    assert_error_body(call(s, "GET", "/metrics"), 401, "unauthenticated")
    assert 'kaito_rag_collection_documents{collection="named"} 1' in call(s, "GET", "/metrics", "k").text


# -- OIDC tokens -----------------------------------------------------------------------------------
def test_real_provider_tokens_rs256_and_es256(srv, provider):
    for resource, alg in [(AUDIENCE, "RS256"), (AUDIENCE_ES, "ES256")]:
        token = provider.token("alice", resource)
        assert jwt.get_unverified_header(token)["alg"] == alg
        me = call(srv, "GET", "/v1/auth/whoami", token)
        assert me.status_code == 200, me.text
        assert me.json()["subject"] == f"user:{provider.issuer}#alice"
        assert me.json()["grants"] == ["*:read"] and me.json()["kind"] == "user"
    assert call(srv, "GET", "/v1/auth/whoami", provider.token("admin")).json()["global_admin"] is True


def _hs256_with_public_key(provider) -> str:
    pem = provider.test_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    signing_input = b64(json.dumps({"alg": "HS256", "kid": TEST_KID}).encode()) + "." + \
        b64(json.dumps(provider.claims(roles=["admin"])).encode())
    return signing_input + "." + b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


NEGATIVE_TOKENS = {
    "expired": (lambda p: p.mint(exp=int(time.time()) - 120), "expired"),
    "not-yet-valid": (lambda p: p.mint(nbf=int(time.time()) + 3600), "not yet valid"),
    "wrong-audience": (lambda p: p.mint(aud="api://someone-else"), "wrong audience"),
    "wrong-issuer": (lambda p: p.mint(iss="http://127.0.0.1:1/other"), "wrong issuer"),
    "other-key-same-kid": (lambda p: p.mint(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                           "signature does not verify"),
    "unknown-kid": (lambda p: p.mint(key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                     kid="nobody"), "unknown signing key"),
    "alg-none": (lambda p: jwt.encode(p.claims(), None, algorithm="none", headers={"kid": TEST_KID}),
                 "algorithm 'none'"),
    "hs256-with-public-key": (_hs256_with_public_key, "algorithm 'HS256'"),
    "no-expiry": (lambda p: p.mint(exp=None), "no expiry"),
}


def test_minted_token_with_the_trusted_key_is_accepted(srv, provider):
    """The control for the negatives below: the test key is trusted, so each negative fails for its own reason."""
    assert call(srv, "GET", "/v1/collections", provider.mint()).status_code == 200


@pytest.mark.parametrize("case", list(NEGATIVE_TOKENS))
def test_bad_tokens_get_401_naming_the_reason(srv, provider, case):
    make, reason = NEGATIVE_TOKENS[case]
    r = call(srv, "GET", "/v1/collections", make(provider))
    body = assert_error_body(r, 401, "unauthenticated")
    assert reason in body["error"]["message"], body


def test_provider_key_rotation_is_picked_up_without_restart(srv, provider):
    before = provider.token("bob")
    assert call(srv, "GET", "/v1/auth/whoami", before).status_code == 200
    new_kid = provider.rotate()
    after = provider.token("bob")
    assert jwt.get_unverified_header(after)["kid"] == new_kid != jwt.get_unverified_header(before)["kid"]
    assert call(srv, "GET", "/v1/auth/whoami", after).status_code == 200, "unknown kid must refresh the JWKS"
    assert call(srv, "GET", "/v1/auth/whoami", before).status_code == 200, "the old key is still published"


def test_air_gapped_jwks_file_is_reread_on_an_unknown_kid(make_server, provider, tmp_path):
    """--oidc-jwks-file: no network fetch at all; a rotation is picked up once the file is updated."""
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(requests.get(provider.issuer + "/jwks", timeout=10).text)
    s = make_server(args=["--oidc-issuer", provider.issuer, "--oidc-audience", AUDIENCE,
                          "--oidc-jwks-file", str(jwks_file), "--oidc-jwks-min-refresh-seconds", "0"])
    assert call(s, "GET", "/v1/auth/whoami", provider.token("alice")).status_code == 200
    provider.rotate()
    rotated = provider.token("alice")
    body = assert_error_body(call(s, "GET", "/v1/auth/whoami", rotated), 401, "unauthenticated")
    assert "unknown signing key" in body["error"]["message"]
    jwks_file.write_text(requests.get(provider.issuer + "/jwks", timeout=10).text)  # the operator updates the ConfigMap
    assert call(s, "GET", "/v1/auth/whoami", rotated).status_code == 200


# -- private collections ------------------------------------------------------------------------------
def _readable_everywhere(server, token) -> dict[str, bool]:
    """Where 'alice-notes' shows up for this caller, through every API family."""
    seen = {}
    seen["rest-list"] = "alice-notes" in [c["name"] for c in call(server, "GET", "/v1/collections", token).json()["collections"]]
    r = call(server, "POST", "/v1/collections/alice-notes/search", token, json={"query": SECRET_WORD})
    seen["rest-search"] = r.status_code == 200 and SECRET_WORD in r.text
    seen["rest-documents"] = call(server, "GET", "/v1/collections/alice-notes/documents", token).status_code == 200
    seen["openai-models"] = "alice-notes" in [m["id"] for m in call(server, "GET", "/v1/models", token).json()["data"]]
    r = call(server, "POST", "/v1/chat/completions", token,
             json={"index_name": "alice-notes", "messages": [{"role": "user", "content": f"What is {SECRET_WORD}?"}]})
    seen["openai-chat-index"] = r.status_code == 200 and SECRET_WORD in r.text
    r = call(server, "POST", "/v1/chat/completions", token,
             json={"model": "alice-notes", "messages": [{"role": "user", "content": f"What is {SECRET_WORD}?"}]})
    seen["openai-chat-model"] = SECRET_WORD in r.text
    seen["ragengine-list"] = "alice-notes" in call(server, "GET", "/indexes", token).json()
    r = call(server, "POST", "/retrieve", token, json={"index_name": "alice-notes", "query": SECRET_WORD})
    seen["ragengine-retrieve"] = r.status_code == 200 and SECRET_WORD in r.text
    r = call(server, "GET", "/indexes/alice-notes/documents", token)
    seen["ragengine-documents"] = r.status_code == 200 and SECRET_WORD in r.text
    return seen


def test_private_collection_is_invisible_to_everyone_but_its_owner(srv, provider):
    owner = _readable_everywhere(srv, provider.token("alice"))
    assert all(owner.values()), owner
    for who in ["bob", "writer", "admin"]:  # even a global admin of shared collections
        seen = _readable_everywhere(srv, provider.token(who))
        assert not any(seen.values()), (who, seen)
    assert not any(_readable_everywhere(srv, make_key(srv, "all-admin", ["*:admin"])).values())
    assert all(_readable_everywhere(srv, SHARED_KEY).values())  # the operators' shared key sees everything


def test_others_cannot_touch_a_private_collection_and_get_404(srv, provider):
    bob = provider.token("bob")
    for method, path, kw in [
        ("GET", "/v1/collections/alice-notes", {}),
        ("DELETE", "/v1/collections/alice-notes", {}),
        ("POST", "/v1/collections/alice-notes/documents", {"files": [("file", ("x.txt", b"bob was here"))]}),
        ("DELETE", "/indexes/alice-notes", {}),
        ("POST", "/index", {"json": {"index_name": "alice-notes", "documents": [{"text": "bob was here"}]}}),
        ("POST", "/v1/collections", {"json": {"name": "alice-notes", "visibility": "private"}}),
    ]:
        r = call(srv, method, path, bob, **kw)
        assert r.status_code in (404, 409), (method, path, r.status_code, r.text)
        assert SECRET_WORD not in r.text
    r = call(srv, "GET", "/v1/collections/alice-notes/documents", provider.token("alice"))
    assert r.json()["total"] == 1


def test_who_may_create_what(srv, provider):
    # Readers own private collections; they cannot create or write shared ones.
    bob = provider.token("bob")
    assert call(srv, "POST", "/v1/collections", bob, json={"name": "bob-notes", "visibility": "private"}).status_code == 201
    assert_error_body(call(srv, "POST", "/v1/collections", bob, json={"name": "bob-shared"}), 403, "permission_denied")
    assert_error_body(call(srv, "POST", "/v1/collections/hb/documents", bob,
                           files=[("file", ("x.txt", b"x"))]), 403, "permission_denied")
    # Without any role there is nothing to own.
    r = call(srv, "POST", "/v1/collections", provider.token("norole"), json={"name": "n1", "visibility": "private"})
    assert_error_body(r, 403, "permission_denied")
    # Writers create shared collections, admins delete them.
    writer = provider.token("writer")
    assert call(srv, "POST", "/v1/collections", writer, json={"name": "team"}).status_code == 201
    assert call(srv, "GET", "/v1/collections/team", bob).status_code == 200
    assert_error_body(call(srv, "DELETE", "/v1/collections/team", writer), 403, "permission_denied")
    assert call(srv, "DELETE", "/v1/collections/team", provider.token("admin")).status_code == 200
    assert call(srv, "DELETE", "/v1/collections/bob-notes", bob).status_code == 200


# -- API keys -----------------------------------------------------------------------------------------
def test_named_keys_have_scopes_and_rotate_without_restart(srv):
    secret = make_key(srv, "ci-reader", "hb:read")
    assert call(srv, "POST", "/v1/collections/hb/search", secret, json={"query": "vacation"}).status_code == 200
    assert_error_body(call(srv, "POST", "/v1/collections/hb/documents", secret,
                           files=[("file", ("x.txt", b"x"))]), 403, "permission_denied")
    assert_error_body(call(srv, "GET", "/v1/auth/keys", secret), 403, "permission_denied")
    listed = call(srv, "GET", "/v1/auth/keys", SHARED_KEY).json()["keys"]
    entry = next(k for k in listed if k["name"] == "ci-reader")
    assert entry["status"] == "active" and entry["scopes"] == ["hb:read"]
    assert secret not in json.dumps(listed) and "sha256" not in json.dumps(listed)

    r = call(srv, "POST", "/v1/auth/keys/ci-reader/rotate", SHARED_KEY, json={"grace_seconds": 0})
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert_error_body(call(srv, "GET", "/v1/collections", secret), 401, "unauthenticated")
    assert call(srv, "GET", "/v1/collections", new_secret).status_code == 200

    r = call(srv, "POST", "/v1/auth/keys/ci-reader/rotate", SHARED_KEY, json={"grace_seconds": 300})
    newest = r.json()["secret"]
    assert call(srv, "GET", "/v1/collections", new_secret).status_code == 200, "grace period"
    assert call(srv, "GET", "/v1/collections", newest).status_code == 200

    assert call(srv, "DELETE", "/v1/auth/keys/ci-reader", SHARED_KEY).status_code == 200
    body = assert_error_body(call(srv, "GET", "/v1/collections", newest), 401, "unauthenticated")
    assert "revoked" in body["error"]["message"]
    # Revoking also ends the grace period of the secret before the last rotation.
    assert_error_body(call(srv, "GET", "/v1/collections", new_secret), 401, "unauthenticated")


def test_cli_keys_take_effect_on_a_running_server(srv):
    env = {"KAITO_RAG_DATA_DIR": str(srv.data_dir)}
    proc = run_cli("keys", "create", "from-cli", "--scopes", "hb:read,*:write", "--expires-in-days", "30", "--json",
                   env=env, check=True)
    secret = json.loads(proc.stdout)["secret"]
    assert call(srv, "GET", "/v1/collections/hb", secret).status_code == 200
    listed = json.loads(run_cli("keys", "list", "--json", env=env, check=True).stdout)
    assert any(k["name"] == "from-cli" and k["expires_at"] > time.time() + 29 * 86400 for k in listed)
    rotated = json.loads(run_cli("keys", "rotate", "from-cli", "--json", env=env, check=True).stdout)["secret"]
    assert call(srv, "GET", "/v1/collections/hb", secret).status_code == 401
    assert call(srv, "GET", "/v1/collections/hb", rotated).status_code == 200
    run_cli("keys", "revoke", "from-cli", env=env, check=True)
    assert call(srv, "GET", "/v1/collections/hb", rotated).status_code == 401
    bad = run_cli("keys", "create", "x y", "--scopes", "hb:read", env=env)
    assert bad.returncode != 0 and "key name" in bad.stderr


def test_keys_expire(srv):
    secret = make_key(srv, "short-lived", ["hb:read"], expires_at=int(time.time()) + 2)
    assert call(srv, "GET", "/v1/collections/hb", secret).status_code == 200
    time.sleep(3.1)
    body = assert_error_body(call(srv, "GET", "/v1/collections/hb", secret), 401, "unauthenticated")
    assert "expired" in body["error"]["message"]


def test_key_admin_input_errors(srv):
    for body, status in [({"name": "no-scopes"}, 400), ({"name": "bad", "scopes": ["hb:root"]}, 400),
                         ({"name": "has space", "scopes": ["hb:read"]}, 400),
                         ({"name": "past", "scopes": ["hb:read"], "expires_at": 1}, 400)]:
        assert_error_body(call(srv, "POST", "/v1/auth/keys", SHARED_KEY, json=body), status)
    make_key(srv, "dup", ["hb:read"])
    assert_error_body(call(srv, "POST", "/v1/auth/keys", SHARED_KEY, json={"name": "dup", "scopes": ["hb:read"]}), 409)
    assert_error_body(call(srv, "DELETE", "/v1/auth/keys/none-such", SHARED_KEY), 404)


def test_auth_config_is_public_and_tells_a_browser_how_to_sign_in(srv, provider):
    r = call(srv, "GET", "/v1/auth/config")
    assert r.status_code == 200
    body = r.json()
    assert body["auth_enabled"] is True and body["methods"] == ["api_key", "oidc"]
    assert body["oidc"]["issuer"] == provider.issuer and body["oidc"]["audience"] == [AUDIENCE, AUDIENCE_ES]


# -- safe defaults ----------------------------------------------------------------------------------
def test_snapshot_paths_are_confined(srv):
    outside = srv.tmp / "escaped"
    for path in ["../../../../../../tmp/kr-escape", str(outside), "a/../../b"]:
        for route in ["/persist/hb", "/load/copy"]:
            r = call(srv, "POST", route, SHARED_KEY, params={"path": path})
            assert r.status_code == 403, (route, path, r.text)
            assert "outside the snapshot directory" in r.json()["detail"]
    assert not outside.exists()
    assert call(srv, "POST", "/persist/hb", SHARED_KEY, params={"path": "hb-copy"}).status_code == 200


def _serve(tmp_path, *args) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen([str(BIN), "serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, port


def _wait_healthy(proc, port) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def test_non_loopback_without_auth_is_refused_at_start_up(tmp_path):
    proc, port = _serve(tmp_path, "--host", "0.0.0.0")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    assert "refusing to serve 0.0.0.0 without authentication" in out and "--allow-unauthenticated" in out
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


@pytest.mark.parametrize("args,open_data", [(["--allow-unauthenticated", "true"], True),
                                            (["--api-keys", "k"], False)])
def test_non_loopback_starts_when_auth_or_the_explicit_flag_is_given(tmp_path, args, open_data):
    proc, port = _serve(tmp_path, "--host", "0.0.0.0", *args)
    try:
        _wait_healthy(proc, port)
        r = requests.get(f"http://127.0.0.1:{port}/v1/collections", timeout=10)
        assert r.status_code == (200 if open_data else 401)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_named_key_in_the_store_is_enough_auth_to_listen_publicly(tmp_path):
    env = {"KAITO_RAG_DATA_DIR": str(tmp_path / "data")}
    secret = json.loads(run_cli("keys", "create", "ops", "--scopes", "*:admin", "--json", env=env,
                                check=True).stdout)["secret"]
    proc, port = _serve(tmp_path, "--host", "0.0.0.0")
    try:
        _wait_healthy(proc, port)
        assert requests.get(f"http://127.0.0.1:{port}/v1/collections", timeout=10).status_code == 401
        assert requests.get(f"http://127.0.0.1:{port}/v1/collections", timeout=10,
                            headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_loopback_without_auth_stays_open_for_local_use(server):
    assert server.get("/v1/collections").status_code == 200
    assert server.get("/v1/auth/config").json() == {"auth_enabled": False, "methods": [], "oidc": None}
