"""The web UI's server side: / and its assets (CSP, caching, --no-webui), conversations per user,
kept originals ("Open original"), and follow-up questions on /ask. The UI itself is tested in a real
browser by web/tests/browser (npm run test:browser)."""
from __future__ import annotations

import hashlib
import re

from conftest import SAMPLES, assert_error_body, parse_sse

PDF = SAMPLES / "benefits-guide.pdf"


def test_root_serves_a_page_with_a_strict_csp(server):
    r = server.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', r.text)
    if not assets:  # built without Node.js: the page says how to add the UI
        assert "npm ci" in r.text
        return
    for path in assets:
        a = server.get(path)
        assert a.status_code == 200, path
        assert "immutable" in a.headers["Cache-Control"]
        assert server.get(path, headers={"If-None-Match": a.headers["ETag"]}).status_code == 304
    assert_error_body(server.get("/assets/nope.js"), 404, "not_found")


def test_no_webui_leaves_root_unrouted(make_server):
    server = make_server(args=["--no-webui"])
    assert_error_body(server.get("/"), 404, "not_found")
    assert server.get("/readyz").status_code == 200


def test_ui_is_public_but_the_api_still_needs_the_key(make_server):
    server = make_server(args=["--api-keys", "k1"])
    assert server.get("/").status_code == 200
    assert_error_body(server.get("/v1/conversations"), 401, "unauthenticated")


def test_conversations_lifecycle(server):
    r = server.post("/v1/conversations", json={"collection": "handbook", "title": "  Leave  "})
    assert r.status_code == 201, r.text
    conv = r.json()
    assert conv["title"] == "Leave" and conv["turn_count"] == 0
    cid = conv["id"]
    turns = [{"role": "user", "content": "How long is parental leave?"},
             {"role": "assistant", "content": "20 weeks [1].", "details": {"mode": "generative", "sources": [{"number": 1}]}}]
    r = server.post(f"/v1/conversations/{cid}/turns", json={"turns": turns})
    assert r.status_code == 200, r.text
    assert [t["seq"] for t in r.json()["turns"]] == [1, 2]
    # Regenerate the answer: replace from turn 2.
    r = server.post(f"/v1/conversations/{cid}/turns", json={"turns": [{"role": "assistant", "content": "Twenty weeks [1]."}],
                                                          "replace_from": 2})
    assert r.status_code == 200, r.text
    got = server.get(f"/v1/conversations/{cid}").json()
    assert [(t["seq"], t["role"], t["content"]) for t in got["turns"]] == [
        (1, "user", "How long is parental leave?"), (2, "assistant", "Twenty weeks [1].")]
    assert got["turns"][0]["details"] is None
    r = server.request("PATCH", f"/v1/conversations/{cid}", json={"title": "Parental leave"})
    assert r.status_code == 200 and r.json()["title"] == "Parental leave"
    listed = server.get("/v1/conversations").json()
    assert listed["total"] == 1 and listed["conversations"][0]["turn_count"] == 2
    assert server.delete(f"/v1/conversations/{cid}").status_code == 200
    assert_error_body(server.get(f"/v1/conversations/{cid}"), 404, "not_found")


def test_conversation_input_errors(server):
    assert_error_body(server.post("/v1/conversations", json={}), 400, "invalid_argument")
    assert_error_body(server.post("/v1/conversations", json={"collection": "../x"}), 400, "invalid_argument")
    assert_error_body(server.post("/v1/conversations", json={"collection": "c", "title": "x" * 201}), 400)
    cid = server.post("/v1/conversations", json={"collection": "c"}).json()["id"]
    assert_error_body(server.post(f"/v1/conversations/{cid}/turns", json={"turns": []}), 400)
    assert_error_body(server.post(f"/v1/conversations/{cid}/turns", json={"turns": [{"role": "system", "content": "x"}]}), 400)
    assert_error_body(server.post(f"/v1/conversations/{cid}/turns",
                                  json={"turns": [{"role": "user", "content": "x", "details": "not an object"}]}), 400)
    assert_error_body(server.post(f"/v1/conversations/{cid}/turns",
                                  json={"turns": [{"role": "user", "content": "x" * 300000}]}), 413, "too_large")
    assert_error_body(server.post("/v1/conversations/unknown/turns", json={"turns": [{"role": "user", "content": "x"}]}),
                      404, "not_found")


def test_conversations_are_per_user_and_survive_a_restart(make_server):
    server = make_server(args=["--api-keys", "alice-key,bob-key"])
    alice = {"Authorization": "Bearer alice-key"}
    bob = {"Authorization": "Bearer bob-key"}
    cid = server.post("/v1/conversations", json={"collection": "c", "title": "mine"}, headers=alice).json()["id"]
    server.post(f"/v1/conversations/{cid}/turns", json={"turns": [{"role": "user", "content": "q"}]}, headers=alice)
    assert server.get("/v1/conversations", headers=bob).json()["total"] == 0
    assert_error_body(server.get(f"/v1/conversations/{cid}", headers=bob), 404)
    assert_error_body(server.delete(f"/v1/conversations/{cid}", headers=bob), 404)
    server.kill()  # no clean shutdown: acknowledged turns must be on disk
    server.start()
    got = server.get(f"/v1/conversations/{cid}", headers=alice)
    assert got.status_code == 200 and got.json()["turns"][0]["content"] == "q"


def test_originals_are_kept_served_counted_and_deleted(server):
    up = server.upload_ok("hr", [PDF])
    doc_id = up["results"][0]["doc_id"]
    r = server.get(f"/v1/collections/hr/documents/{doc_id}/original")
    assert r.status_code == 200
    assert r.content == PDF.read_bytes()
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="benefits-guide.pdf"')
    assert "sandbox" in r.headers["Content-Security-Policy"]
    digest = hashlib.sha256(PDF.read_bytes()).hexdigest()
    assert (server.data_dir / "collections" / "hr" / "originals" / digest).exists()
    assert server.get("/v1/collections/hr").json()["originals_bytes"] == PDF.stat().st_size
    assert server.delete(f"/v1/collections/hr/documents/{doc_id}").status_code == 200
    assert not (server.data_dir / "collections" / "hr" / "originals" / digest).exists()
    assert server.get("/v1/collections/hr").json()["originals_bytes"] == 0
    assert_error_body(server.get(f"/v1/collections/hr/documents/{doc_id}/original"), 404, "not_found")


def test_a_new_version_replaces_its_original(server, tmp_path):
    doc = tmp_path / "policy.md"
    doc.write_text("# Policy\n\nVersion one of the travel policy says economy class.\n")
    first = server.upload_ok("hr", [doc])["results"][0]
    doc.write_text("# Policy\n\nVersion two of the travel policy says premium economy on long flights.\n")
    second = server.upload_ok("hr", [doc])["results"][0]
    assert second["status"] == "updated" and second["doc_id"] == first["doc_id"]
    r = server.get(f"/v1/collections/hr/documents/{first['doc_id']}/original")
    assert r.status_code == 200 and b"Version two" in r.content
    originals = list((server.data_dir / "collections" / "hr" / "originals").iterdir())
    assert len(originals) == 1


def test_originals_go_with_their_collection(server):
    server.upload_ok("tmp", [PDF])
    assert (server.data_dir / "collections" / "tmp" / "originals").exists()
    assert server.delete("/v1/collections/tmp").status_code == 200
    assert not (server.data_dir / "collections" / "tmp").exists()


def test_ask_with_history_answers_a_follow_up(server):
    server.upload_ok("hr", sorted(SAMPLES.iterdir()))
    history = [{"role": "user", "content": "How long is parental leave?"},
               {"role": "assistant", "content": "20 weeks of fully paid parental leave [1]."}]
    r = server.post("/v1/collections/hr/ask", json={"question": "How much paid caregiver leave per year?", "history": history,
                                                    "stream": True})
    assert r.status_code == 200, r.text
    events = parse_sse(r.text)
    done = [data for name, data in events if name == "done"]
    assert done and "10 days" in done[0]["answer"]
    assert_error_body(server.post("/v1/collections/hr/ask", json={"question": "x", "history": [{"role": "tool"}]}), 400)
