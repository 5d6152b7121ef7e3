"""Everything a replica needs lives in PostgreSQL (--store postgres): two replicas with separate,
empty data directories see the same API keys, conversations, collection settings and originals,
and neither keeps any of them on its disk."""
from __future__ import annotations

import hashlib
import threading
import time
import uuid

import pytest

from conftest import SAMPLES, Server, assert_error_body
from test_pg_store import postgres, wait_for  # noqa: F401 — the real PostgreSQL the store tests start

SHARED_KEY = "shared-admin-key"
PDF = SAMPLES / "benefits-guide.pdf"


@pytest.fixture
def pair(make_server, postgres) -> tuple[Server, Server]:
    url = postgres.create_database("kr_" + uuid.uuid4().hex[:12])
    servers = [make_server(args=["--store", "postgres", "--pg-follow-interval-ms", "200", "--api-keys", SHARED_KEY],
                           env={"KAITO_RAG_PG_URL": url}, start=False, name=f"replica{i}", api_key=SHARED_KEY)
               for i in range(2)]
    threads = [threading.Thread(target=s.start) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s.alive() for s in servers)
    assert servers[0].data_dir != servers[1].data_dir
    return servers[0], servers[1]


def as_key(server: Server, method: str, path: str, secret: str, **kw):
    return server.session.request(method, server.url + path, headers={"Authorization": f"Bearer {secret}"},
                                  timeout=30, **kw)


def local_state(server: Server) -> list[str]:
    """Files of the kinds a replica must not keep: conversations, keys, owners, originals."""
    names = ("conversations.sqlite", "api_keys.json", "owners.json")
    found = [str(p) for p in server.data_dir.rglob("*") if p.name in names or p.parent.name == "originals"]
    return sorted(found)


def test_keys_conversations_settings_and_originals_are_shared(pair):
    a, b = pair
    # Settings: written through A, read through B.
    settings = {"description": "People team", "language": "german", "bm25_k1": 1.5, "chunk_max_tokens": 200}
    a.create_collection("hr", **settings)
    wait_for(lambda: b.get("/v1/collections/hr").status_code == 200)
    got = b.get("/v1/collections/hr").json()["settings"]
    assert {k: got[k] for k in settings} == settings

    # Originals: uploaded through A, downloaded byte for byte through B .
    body = a.upload_ok("hr", [PDF])
    doc_id = body["results"][0]["doc_id"]
    wait_for(lambda: b.get(f"/v1/collections/hr/documents/{doc_id}").status_code == 200)
    r = b.get(f"/v1/collections/hr/documents/{doc_id}/original")
    assert r.status_code == 200, r.text
    assert r.content == PDF.read_bytes()
    assert r.headers["ETag"] == f'"{hashlib.sha256(PDF.read_bytes()).hexdigest()}"'
    assert b.get("/v1/collections/hr").json()["originals_bytes"] == PDF.stat().st_size

    # A queued upload (?wait=false) keeps its original too, whichever replica ingests it.
    note = b"Relocation allowance is paid once. " * 40000  # 1.4 MB: two 1 MiB parts
    r = a.upload("hr", [("relocation.txt", note)], params={"wait": "false"})
    assert r.status_code == 202, r.text
    wait_for(lambda: any(d["name"] == "relocation.txt" for d in b.all_documents("hr")), timeout=30)
    reloc = next(d for d in b.all_documents("hr") if d["name"] == "relocation.txt")
    r = b.get(f"/v1/collections/hr/documents/{reloc['doc_id']}/original")
    assert r.status_code == 200 and r.content == note

    # Deleting the document through B releases its original for A too.
    assert b.delete(f"/v1/collections/hr/documents/{doc_id}").status_code in (200, 204)
    wait_for(lambda: a.get(f"/v1/collections/hr/documents/{doc_id}").status_code == 404)
    assert_error_body(a.get(f"/v1/collections/hr/documents/{doc_id}/original"), 404, "not_found")

    # API keys: created through A, accepted by B; revoked through A, refused by B within the
    # shared text's recheck interval (1 s).
    r = a.post("/v1/auth/keys", json={"name": "reader", "scopes": ["hr:read"]})
    assert r.status_code in (200, 201), r.text
    secret = r.json()["secret"]
    wait_for(lambda: as_key(b, "GET", "/v1/collections/hr", secret).status_code == 200, timeout=5)
    assert [k["name"] for k in b.get("/v1/auth/keys").json()["keys"]] == ["reader"]
    assert a.delete("/v1/auth/keys/reader").status_code == 200
    revoked = time.monotonic()
    wait_for(lambda: as_key(b, "GET", "/v1/collections/hr", secret).status_code == 401, timeout=5)
    assert time.monotonic() - revoked < 3

    # Conversations: started on A, continued on B, listed and deleted on A.
    r = a.post("/v1/conversations", json={"collection": "hr", "title": "Leave"})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    turns = [{"role": "user", "content": "How much leave?"}, {"role": "assistant", "content": "25 days."}]
    r = b.post(f"/v1/conversations/{cid}/turns", json={"turns": turns})
    assert r.status_code in (200, 201), r.text
    got = a.get(f"/v1/conversations/{cid}").json()
    assert [t["content"] for t in got["turns"]] == ["How much leave?", "25 days."]
    assert [c["id"] for c in a.get("/v1/conversations").json()["conversations"]] == [cid]
    assert a.delete(f"/v1/conversations/{cid}").status_code in (200, 204)
    assert_error_body(b.get(f"/v1/conversations/{cid}"), 404, "not_found")

    # Neither replica kept any of it on its own disk.
    assert local_state(a) == [] and local_state(b) == []


def test_keys_created_concurrently_on_two_replicas_are_all_kept(pair):
    a, b = pair
    errors = []

    def create(server: Server, prefix: str):
        for i in range(5):
            r = server.post("/v1/auth/keys", json={"name": f"{prefix}{i}", "scopes": ["*:read"]})
            if r.status_code not in (200, 201):
                errors.append(r.text)

    threads = [threading.Thread(target=create, args=(s, p)) for s, p in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # A replica re-reads the shared key row at most once a second (DESIGN.md): give each view 5 s to
    # converge; a lost update would never show up.
    expected = sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])
    for server in (a, b):
        deadline = time.monotonic() + 5
        while True:
            names = sorted(k["name"] for k in server.get("/v1/auth/keys").json()["keys"])
            if names == expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert names == expected
