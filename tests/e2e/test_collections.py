"""/v1/collections: create, list, get, delete."""
import pytest

from conftest import SAMPLES, assert_error_body


def test_create_collection_returns_201_with_location(server):
    r = server.post("/v1/collections", json={"name": "hr-docs", "description": "People team"})
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == "/v1/collections/hr-docs"
    body = r.json()
    assert body["name"] == "hr-docs"
    assert body["documents"] == 0 and body["chunks"] == 0
    assert body["settings"]["description"] == "People team"
    # The Location resolves.
    got = server.get(r.headers["Location"])
    assert got.status_code == 200 and got.json()["name"] == "hr-docs"


def test_create_collection_with_settings_roundtrips(server):
    settings = {"language": "german", "bm25_k1": 1.5, "bm25_b": 0.5, "chunk_max_tokens": 200,
                "chunk_overlap_tokens": 20}
    server.create_collection("tuned", **settings)
    got = server.get("/v1/collections/tuned").json()["settings"]
    for key, value in settings.items():
        assert got[key] == value, (key, got)


def test_list_collections(server):
    assert server.get("/v1/collections").json() == {"collections": []}
    for name in ("beta", "alpha", "gamma.v2"):
        server.create_collection(name)
    listed = server.get("/v1/collections").json()["collections"]
    assert sorted(c["name"] for c in listed) == ["alpha", "beta", "gamma.v2"]
    for c in listed:
        assert {"name", "documents", "chunks", "settings"} <= c.keys()


def test_get_collection_counts_documents(server):
    server.upload_ok("counted", [SAMPLES / "employee-handbook.md", SAMPLES / "benefits-guide.pdf"])
    info = server.get("/v1/collections/counted").json()
    assert info["documents"] == 2
    assert info["chunks"] > 2
    assert info["index"]["terms"] > 0 and info["index"]["postings"] > 0


def test_delete_collection_then_404(server):
    server.upload_ok("doomed", [SAMPLES / "employee-handbook.md"])
    r = server.delete("/v1/collections/doomed")
    assert r.status_code == 200, r.text
    assert_error_body(server.get("/v1/collections/doomed"), 404, "not_found")
    assert_error_body(server.delete("/v1/collections/doomed"), 404, "not_found")
    assert_error_body(server.post("/v1/collections/doomed/search", json={"query": "vacation"}), 404)
    assert_error_body(server.get("/v1/collections/doomed/documents"), 404)
    assert "doomed" not in [c["name"] for c in server.get("/v1/collections").json()["collections"]]
    # The name can be used again, and the new collection starts empty.
    server.create_collection("doomed")
    assert server.get("/v1/collections/doomed").json()["documents"] == 0
    assert server.search("doomed", "vacation")["results"] == []


def test_duplicate_create_is_409(server):
    server.create_collection("twice")
    assert_error_body(server.post("/v1/collections", json={"name": "twice"}), 409, "already_exists")


def test_upload_to_missing_collection_creates_it(server):
    assert_error_body(server.get("/v1/collections/fresh"), 404)
    server.upload_ok("fresh", [SAMPLES / "office-locations.csv"])
    assert server.get("/v1/collections/fresh").json()["documents"] == 1


@pytest.mark.parametrize("name", ["", "-leading-dash", ".hidden", "_under", "has space", "slash/inside", "ü-umlaut",
                                  "a" * 65, "..", "semi;colon", "emoji-😀"])
def test_invalid_collection_names_are_400(server, name):
    body = assert_error_body(server.post("/v1/collections", json={"name": name}), 400, "invalid_argument")
    assert "name" in body["error"]["message"]


@pytest.mark.parametrize("name", [None, 42, ["x"], {"a": 1}])
def test_collection_name_of_wrong_type_is_400(server, name):
    body = assert_error_body(server.post("/v1/collections", json={"name": name}), 400, "invalid_argument")
    assert "name" in body["error"]["message"]


def test_longest_valid_name_is_accepted(server):
    server.create_collection("a" * 64)
    assert server.get("/v1/collections/" + "a" * 64).status_code == 200


@pytest.mark.parametrize("settings,field", [
    ({"bm25_b": 1.5}, "bm25_b"),
    ({"bm25_b": -0.1}, "bm25_b"),
    ({"bm25_k1": -1}, "bm25_k1"),
    ({"bm25_k1": "high"}, "bm25_k1"),
    ({"chunk_max_tokens": 8}, "chunk_max_tokens"),
    ({"chunk_max_tokens": 100000}, "chunk_max_tokens"),
    ({"chunk_max_tokens": 12.5}, "chunk_max_tokens"),
    ({"chunk_overlap_tokens": -1}, "chunk_overlap_tokens"),
    ({"chunk_max_tokens": 100, "chunk_overlap_tokens": 60}, "chunk_overlap_tokens"),
    ({"language": 7}, "language"),
])
def test_bad_collection_settings_are_400(server, settings, field):
    body = assert_error_body(server.post("/v1/collections", json={"name": "bad", **settings}), 400,
                             "invalid_argument")
    assert field in body["error"]["message"]
    assert_error_body(server.get("/v1/collections/bad"), 404)


def test_unknown_language_is_rejected(server):
    r = server.post("/v1/collections", json={"name": "klingon", "language": "klingon"})
    assert_error_body(r, 400, "invalid_argument")
    assert_error_body(server.get("/v1/collections/klingon"), 404)


def test_unreadable_collection_answers_503_and_the_server_serves_the_others(make_server):
    server = make_server()
    server.upload_ok("good", [SAMPLES / "employee-handbook.md"])
    server.upload_ok("bad", [SAMPLES / "employee-handbook.md"])
    server.stop()
    bad_dir = server.data_dir / "collections" / "bad"
    (bad_dir / "collection.db").write_bytes(b"x" * 8192)  # not a database any more
    for leftover in ("collection.db-wal", "collection.db-shm"):
        (bad_dir / leftover).unlink(missing_ok=True)
    server.start()
    assert server.healthy()
    assert server.search("good", "vacation")["results"]
    r = server.get("/v1/collections/bad")
    assert_error_body(r, 503, "unavailable")
    assert r.headers.get("Retry-After"), r.headers
    assert_error_body(server.post("/v1/collections/bad/search", json={"query": "vacation"}), 503, "unavailable")
    # The name stays taken until the broken collection is deleted; then it can be made again.
    assert_error_body(server.post("/v1/collections", json={"name": "bad"}), 409)
    assert server.delete("/v1/collections/bad").status_code == 200
    server.create_collection("bad")
    assert server.get("/v1/collections/bad").json()["documents"] == 0
