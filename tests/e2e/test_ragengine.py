"""KAITO RAGEngine's HTTP API (REFERENCE.md section 2) on Kaito-RAG: routes, JSON shapes, status codes,
errors, metrics, persistence; plus KAITO's own Python client (kaito-rag-engine-client) against a live server.
Differences from KAITO are listed in docs/ragengine-compatibility.md."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

DOCS = [
    {"text": "KAITO is the Kubernetes AI Toolchain Operator. It automates model deployment on AKS.",
     "metadata": {"author": "kaito", "branch": "main"}},
    {"text": "The RAG engine indexes documents and retrieves the passages that answer a question.",
     "metadata": {"author": "rag", "branch": "dev"}},
    {"text": "Parental leave lasts twenty weeks for every employee.", "metadata": {}},
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def index(server, name, docs, status=200):
    r = server.post("/index", json={"index_name": name, "documents": docs})
    assert r.status_code == status, r.text
    return r.json()


def detail(r, status):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"detail"}, body
    return body["detail"]


def validation(r, field_loc):
    errors = detail(r, 422)
    assert isinstance(errors, list) and errors, errors
    for e in errors:
        assert {"type", "loc", "msg", "input"} <= set(e), e
    assert any(e["loc"] == field_loc for e in errors), errors
    return errors


@pytest.fixture
def server(make_server, tmp_path):
    """A fresh server whose snapshot directory (the only place /persist and /load may use) is tmp_path."""
    return make_server(args=["--snapshot-dir", str(tmp_path)])


# -- health, index, indexes -----------------------------------------------------------------------

def test_health(server):
    r = server.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "Healthy", "detail": None}


def test_health_is_public_with_api_keys(make_server):
    s = make_server(args=["--api-keys", "k1"])
    s.session.headers.pop("Authorization", None)
    assert s.get("/health").status_code == 200
    assert s.get("/indexes").status_code == 401  # auth applies to the RAGEngine routes
    assert s.get("/indexes", headers={"Authorization": "Bearer k1"}).json() == []


def test_index_returns_documents_in_order(server):
    body = index(server, "rag_index", DOCS + [{"text": "no metadata here"}, {"text": "null metadata", "metadata": None}])
    assert [d["doc_id"] for d in body] == [sha(d["text"]) for d in DOCS] + [sha("no metadata here"), sha("null metadata")]
    for got, sent in zip(body, DOCS):
        assert got == {"doc_id": sha(sent["text"]), "text": sent["text"], "metadata": sent["metadata"],
                       "hash_value": None, "is_truncated": False}
    assert body[3]["metadata"] == {}
    assert body[4]["metadata"] is None
    assert server.get("/indexes").json() == ["rag_index"]


def test_index_ignores_request_doc_id_and_skips_existing(server):
    index(server, "i", DOCS[:1])
    body = index(server, "i", [{"doc_id": "mine", **DOCS[0]}, DOCS[1]])
    assert [d["doc_id"] for d in body] == [sha(DOCS[0]["text"]), sha(DOCS[1]["text"])]
    listed = server.get("/indexes/i/documents").json()
    assert listed["total_items"] == 2  # the existing document was not added twice
    # Identical texts in one request: one document.
    body = index(server, "j", [DOCS[2], DOCS[2]])
    assert body[0]["doc_id"] == body[1]["doc_id"]
    assert server.get("/indexes/j/documents").json()["total_items"] == 1


def test_index_unicode_id_is_sha256_of_utf8(server):
    text = "Grüße aus Köln — 東京 🚀"
    assert index(server, "u", [{"text": text}])[0]["doc_id"] == sha(text)


def test_empty_documents_on_new_index_creates_nothing(server):
    assert index(server, "empty", []) == []
    assert server.get("/indexes").json() == []
    index(server, "full", DOCS[:1])
    assert index(server, "full", []) == []


def test_indexes_in_creation_order(server):
    for name in ["zeta", "alpha", "mid"]:
        index(server, name, DOCS[:1])
    assert server.get("/indexes").json() == ["zeta", "alpha", "mid"]
    server.stop()
    server.start()
    assert server.get("/indexes").json() == ["zeta", "alpha", "mid"]


def test_kaito_indexes_are_kaito_rag_collections(server):
    index(server, "shared", DOCS)
    coll = server.get("/v1/collections/shared").json()
    assert coll["documents"] == 3
    # and a collection made through /v1 is an index
    server.create_collection("made-by-v1")
    assert "made-by-v1" in server.get("/indexes").json()


def test_index_validation_errors(server):
    validation(server.post("/index", json={"documents": []}), ["body", "index_name"])
    validation(server.post("/index", json={"index_name": "x"}), ["body", "documents"])
    validation(server.post("/index", json={"index_name": 5, "documents": []}), ["body", "index_name"])
    validation(server.post("/index", json={"index_name": "x", "documents": "no"}), ["body", "documents"])
    validation(server.post("/index", json={"index_name": "x", "documents": [{"metadata": {}}]}),
               ["body", "documents", 0, "text"])
    validation(server.post("/index", json={"index_name": "x", "documents": [{"text": 1}]}),
               ["body", "documents", 0, "text"])
    validation(server.post("/index", json={"index_name": "x", "documents": [{"text": "t", "metadata": []}]}),
               ["body", "documents", 0, "metadata"])
    errors = validation(server.post("/index", json={"index_name": "bad name/", "documents": []}),
                        ["body", "index_name"])
    assert errors[0]["type"] == "string_pattern_mismatch"
    errors = validation(server.post("/index", data="not json", headers={"Content-Type": "application/json"}),
                        ["body", 0])
    assert errors[0]["type"] == "json_invalid"
    validation(server.post("/index", json=[1, 2]), ["body"])
    assert server.get("/indexes").json() == []


def test_index_failure_is_500_and_creates_nothing(server):
    assert detail(server.post("/index", json={"index_name": "bad", "documents": [{"text": "ok"}, {"text": ""}]}),
                  500) == "document text is empty"
    assert server.get("/indexes").json() == []
    # a text the parsers reject (binary) on a new index: no index is left behind
    r = server.post("/index", json={"index_name": "bad", "documents": [{"text": "bin\u0000ary"}]})
    assert r.status_code >= 400 and isinstance(r.json()["detail"], str)
    assert server.get("/indexes").json() == []


# -- listing --------------------------------------------------------------------------------------

def test_list_documents_shape_and_paging(server):
    index(server, "p", [{"text": f"document number {i} about topic {i}", "metadata": {"n": i}} for i in range(15)])
    r = server.get("/indexes/p/documents")
    body = r.json()
    assert r.status_code == 200 and set(body) == {"documents", "count", "total_items"}
    assert body["count"] == 10 and body["total_items"] == 15
    d = body["documents"][0]
    assert set(d) == {"doc_id", "text", "metadata", "hash_value", "is_truncated"}
    assert d["doc_id"] == sha("document number 0 about topic 0") and d["metadata"] == {"n": 0}
    assert re.fullmatch(r"[0-9a-f]{64}", d["hash_value"]) and d["is_truncated"] is False
    page2 = server.get("/indexes/p/documents", params={"offset": 10, "limit": 10}).json()
    assert page2["count"] == 5 and page2["total_items"] == 15
    assert [x["metadata"]["n"] for x in page2["documents"]] == list(range(10, 15))
    assert server.get("/indexes/p/documents", params={"offset": 100}).json() == \
        {"documents": [], "count": 0, "total_items": 15}


def test_list_documents_truncation(server):
    text = "äöü " * 10
    index(server, "t", [{"text": text}])
    d = server.get("/indexes/t/documents", params={"max_text_length": 5}).json()["documents"][0]
    assert d["is_truncated"] is True and d["text"] == text.strip()[:5]
    d = server.get("/indexes/t/documents", params={"max_text_length": 1000}).json()["documents"][0]
    assert d["is_truncated"] is False


def test_list_documents_entries_are_chunks(server):
    long_text = " ".join(f"Sentence number {i} talks about subject {i % 7} in some detail." for i in range(400))
    body = index(server, "c", [{"text": long_text, "metadata": {"k": "v"}}, DOCS[2]])
    listed = server.get("/indexes/c/documents", params={"limit": 100}).json()
    chunks = [d for d in listed["documents"] if d["doc_id"] == body[0]["doc_id"]]
    assert len(chunks) > 1  # one entry per chunk, all with the parent doc_id
    assert listed["total_items"] == len(chunks) + 1
    assert all(d["metadata"] == {"k": "v"} for d in chunks)
    assert len({d["hash_value"] for d in chunks}) == len(chunks)


def test_list_documents_metadata_filter(server):
    index(server, "f", DOCS)
    r = server.get("/indexes/f/documents", params={"metadata_filter": json.dumps({"author": "kaito"})})
    body = r.json()
    assert body["total_items"] == 1 and body["documents"][0]["metadata"]["author"] == "kaito"
    both = {"author": "kaito", "branch": "dev"}
    assert server.get("/indexes/f/documents", params={"metadata_filter": json.dumps(both)}).json()["total_items"] == 0
    assert detail(server.get("/indexes/f/documents", params={"metadata_filter": "{bad"}), 400) == \
        "Invalid metadata filter format. Must be a valid JSON string."


def test_list_documents_errors(server):
    assert detail(server.get("/indexes/nope/documents"), 404) == "No such index: 'nope' exists."
    index(server, "e", DOCS[:1])
    for params, loc in [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"),
                        ({"offset": -1}, "offset"), ({"max_text_length": 0}, "max_text_length")]:
        validation(server.get("/indexes/e/documents", params=params), ["query", loc])
    assert server.get("/indexes/e/documents", params={"limit": 100}).status_code == 200


# -- update / delete ------------------------------------------------------------------------------

def test_update_documents(server):
    ids = [d["doc_id"] for d in index(server, "u", DOCS[:2])]
    changed = {"doc_id": ids[0], "text": "KAITO now also runs RAG engines.", "metadata": {"author": "kaito"}}
    same = {"doc_id": ids[1], "text": DOCS[1]["text"], "metadata": DOCS[1]["metadata"]}
    missing = {"doc_id": "0" * 64, "text": "who?"}
    r = server.post("/indexes/u/documents", json={"documents": [changed, same, missing]})
    assert r.status_code == 200, r.text
    body = r.json()
    echo = lambda d: {"doc_id": d["doc_id"], "text": d["text"], "metadata": d.get("metadata", {}),  # noqa: E731
                      "hash_value": None, "is_truncated": False}
    assert body == {"updated_documents": [echo(changed)], "unchanged_documents": [echo(same)],
                    "not_found_documents": [echo(missing)]}
    listed = server.get("/indexes/u/documents").json()["documents"]
    by_id = {d["doc_id"]: d for d in listed}
    assert by_id[ids[0]]["text"] == changed["text"]  # same id, new text
    assert by_id[ids[0]]["metadata"] == {"author": "kaito"}
    hits = server.post("/retrieve", json={"index_name": "u", "query": "RAG engines"}).json()["results"]
    assert hits[0]["doc_id"] == ids[0]
    # metadata-only change is an update too
    meta = {"doc_id": ids[1], "text": DOCS[1]["text"], "metadata": {"author": "someone"}}
    assert server.post("/indexes/u/documents", json={"documents": [meta]}).json()["updated_documents"] == [echo(meta)]


def test_update_to_text_of_another_document(server):
    ids = [d["doc_id"] for d in index(server, "dup", DOCS[:2])]
    r = server.post("/indexes/dup/documents", json={"documents": [{"doc_id": ids[1], "text": DOCS[0]["text"]}]})
    assert len(r.json()["updated_documents"]) == 1
    assert server.get("/indexes/dup/documents").json()["total_items"] == 2


def test_update_errors(server):
    assert detail(server.post("/indexes/nope/documents", json={"documents": []}), 404) == \
        "No such index: 'nope' exists."
    index(server, "x", DOCS[:1])
    validation(server.post("/indexes/x/documents", json={}), ["body", "documents"])
    validation(server.post("/indexes/x/documents", json={"documents": [{"doc_id": "a"}]}),
               ["body", "documents", 0, "text"])


def test_delete_documents(server):
    ids = [d["doc_id"] for d in index(server, "d", DOCS)]
    r = server.post("/indexes/d/documents/delete", json={"doc_ids": [ids[0], "unknown", ids[2]]})
    assert r.status_code == 200
    assert r.json() == {"deleted_doc_ids": [ids[0], ids[2]], "not_found_doc_ids": ["unknown"]}
    listed = server.get("/indexes/d/documents").json()
    assert [d["doc_id"] for d in listed["documents"]] == [ids[1]]
    assert server.post("/indexes/d/documents/delete", json={"doc_ids": [ids[0]]}).json() == \
        {"deleted_doc_ids": [], "not_found_doc_ids": [ids[0]]}
    # Re-indexing a deleted text adds it again.
    index(server, "d", DOCS[:1])
    assert server.get("/indexes/d/documents").json()["total_items"] == 2


def test_delete_documents_errors(server):
    assert detail(server.post("/indexes/nope/documents/delete", json={"doc_ids": []}), 404) == \
        "No such index: 'nope' exists."
    index(server, "x", DOCS[:1])
    validation(server.post("/indexes/x/documents/delete", json={}), ["body", "doc_ids"])
    validation(server.post("/indexes/x/documents/delete", json={"doc_ids": [1]}), ["body", "doc_ids", 0])


def test_delete_index_is_durable(server):
    index(server, "gone", DOCS)
    index(server, "kept", DOCS[:1])
    r = server.delete("/indexes/gone")
    assert r.status_code == 200 and r.json() == {"message": "Successfully deleted index gone."}
    assert server.get("/indexes").json() == ["kept"]
    assert detail(server.delete("/indexes/gone"), 404) == "No such index: 'gone' exists."
    assert detail(server.get("/indexes/gone/documents"), 404) == "No such index: 'gone' exists."
    server.stop()
    server.start()
    assert server.get("/indexes").json() == ["kept"]


# -- retrieve -------------------------------------------------------------------------------------

def test_retrieve(server):
    ids = [d["doc_id"] for d in index(server, "r", DOCS)]
    r = server.post("/retrieve", json={"index_name": "r", "query": "What is KAITO?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"query", "results", "count"} and body["query"] == "What is KAITO?"
    assert body["count"] == len(body["results"]) >= 1
    top = body["results"][0]
    assert set(top) == {"doc_id", "node_id", "text", "score", "dense_score", "sparse_score", "source", "metadata"}
    assert top["doc_id"] == ids[0] and top["text"] == DOCS[0]["text"]
    assert top["node_id"] == f"{ids[0]}:0"
    # BM25-only server: the sparse (BM25) score is reported, as KAITO's Qdrant backend does; no dense side.
    assert top["dense_score"] is None and isinstance(top["sparse_score"], float) and top["source"] is None
    assert top["metadata"] == DOCS[0]["metadata"]
    assert isinstance(top["score"], float) and top["score"] > 0
    scores = [x["score"] for x in body["results"]]
    assert scores == sorted(scores, reverse=True)
    # node ids are stable
    again = server.post("/retrieve", json={"index_name": "r", "query": "What is KAITO?"}).json()
    assert again["results"][0]["node_id"] == top["node_id"]


def test_retrieve_metadata_null_when_empty_and_filters(server):
    index(server, "m", DOCS)
    hit = server.post("/retrieve", json={"index_name": "m", "query": "parental leave"}).json()["results"][0]
    assert hit["doc_id"] == sha(DOCS[2]["text"]) and hit["metadata"] is None
    body = server.post("/retrieve", json={"index_name": "m", "query": "documents KAITO",
                                          "metadata_filter": {"branch": "dev"}}).json()
    assert body["count"] >= 1 and all(x["metadata"]["branch"] == "dev" for x in body["results"])
    body = server.post("/retrieve", json={"index_name": "m", "query": "KAITO", "metadata_filter": {"branch": "x"}}).json()
    assert body == {"query": "KAITO", "results": [], "count": 0}


def test_retrieve_max_node_count(server):
    index(server, "k", [{"text": f"alpha document {i}"} for i in range(12)])
    assert server.post("/retrieve", json={"index_name": "k", "query": "alpha"}).json()["count"] == 5
    assert server.post("/retrieve", json={"index_name": "k", "query": "alpha", "max_node_count": 2}).json()["count"] == 2
    assert server.post("/retrieve", json={"index_name": "k", "query": "alpha",
                                          "max_node_count": 300}).json()["count"] == 12


def test_retrieve_max_node_count_true_is_one_like_pydantic(server):
    index(server, "b", [{"text": f"alpha document {i}"} for i in range(3)])
    body = server.post("/retrieve", json={"index_name": "b", "query": "alpha", "max_node_count": True}).json()
    assert body["count"] == 1 and len(body["results"]) == 1
    errors = validation(server.post("/retrieve", json={"index_name": "b", "query": "alpha", "max_node_count": False}),
                        ["body", "max_node_count"])
    assert errors[0]["type"] == "greater_than_equal" and errors[0]["input"] is False


def test_index_does_not_echo_hash_value_or_is_truncated(server):
    body = index(server, "e", [{"text": "Doc with hash_value and is_truncated set.", "metadata": {},
                                "hash_value": "abc", "is_truncated": True}])
    assert body == [{"doc_id": sha("Doc with hash_value and is_truncated set."), "metadata": {},
                     "text": "Doc with hash_value and is_truncated set.", "hash_value": None, "is_truncated": False}]


def test_trailing_slash_and_wrong_method_answer_like_fastapi(server):
    index(server, "s", DOCS[:1])
    for path, target in [("/health/", "/health"), ("/indexes/", "/indexes")]:
        r = server.get(path, allow_redirects=False)
        assert (r.status_code, r.headers["Location"]) == (307, target)
        followed = server.get(path)  # a client that follows it gets the route's answer
        assert followed.status_code == 200 and followed.json() == server.get(target).json()
    for method, path in [("GET", "/index"), ("GET", "/retrieve"), ("PUT", "/indexes/s")]:
        r = server.request(method, path)
        assert r.status_code == 405 and r.headers["Allow"] in ("POST", "DELETE"), (method, path, r.text)


def test_retrieve_errors(server):
    assert detail(server.post("/retrieve", json={"index_name": "nope", "query": ""}), 404) == \
        "No such index: 'nope' exists."  # 404 checked before the empty query
    assert detail(server.post("/retrieve", json={"index_name": "nope", "query": "x"}), 404) == \
        "No such index: 'nope' exists."
    index(server, "r", DOCS[:1])
    assert detail(server.post("/retrieve", json={"index_name": "r", "query": "  "}), 400) == \
        "Query string cannot be empty."
    for bad in [0, 301, "many"]:
        validation(server.post("/retrieve", json={"index_name": "r", "query": "q", "max_node_count": bad}),
                   ["body", "max_node_count"])
    validation(server.post("/retrieve", json={"index_name": "r"}), ["body", "query"])
    validation(server.post("/retrieve", json={"query": "q"}), ["body", "index_name"])
    validation(server.post("/retrieve", json={"index_name": "r", "query": "q", "metadata_filter": "x"}),
               ["body", "metadata_filter"])


# -- persist / load -------------------------------------------------------------------------------

def test_persist_and_load_round_trip(server, tmp_path):
    ids = [d["doc_id"] for d in index(server, "src", DOCS)]
    target = tmp_path / "snap" / "src"
    r = server.post("/persist/src", params={"path": str(target)})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": f"Successfully persisted index src to {target}."}
    assert (target / "collection.db").is_file()
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["format"] == "kaito-rag-index" and manifest["index_name"] == "src"
    r = server.post("/load/copy", params={"path": str(target)})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": f"Successfully loaded index copy from {target}."}
    assert server.get("/indexes").json() == ["src", "copy"]
    assert server.get("/indexes/copy/documents").json() == server.get("/indexes/src/documents").json()
    hit = server.post("/retrieve", json={"index_name": "copy", "query": "KAITO"}).json()["results"][0]
    assert hit["doc_id"] == ids[0]
    # the loaded index is independent and writable
    index(server, "copy", [{"text": "only in the copy"}])
    assert server.get("/indexes/src/documents").json()["total_items"] == 3
    assert server.get("/indexes/copy/documents").json()["total_items"] == 4
    server.stop()
    server.start()
    assert server.get("/indexes/copy/documents").json()["total_items"] == 4
    assert server.post("/retrieve", json={"index_name": "copy", "query": "copy"}).json()["count"] == 1


def test_load_existing_needs_overwrite(server, tmp_path):
    index(server, "a", DOCS[:1])
    index(server, "b", DOCS)
    target = tmp_path / "b"
    assert server.post("/persist/b", params={"path": str(target)}).status_code == 200
    assert detail(server.post("/load/a", params={"path": str(target)}), 409) == \
        "Index 'a' already exists. Use a different name or delete the existing index first."
    assert server.get("/indexes/a/documents").json()["total_items"] == 1
    r = server.post("/load/a", params={"path": str(target), "overwrite": "true"})
    assert r.status_code == 200, r.text
    assert server.get("/indexes/a/documents").json()["total_items"] == 3
    assert server.post("/retrieve", json={"index_name": "a", "query": "parental"}).json()["count"] == 1


def test_persist_and_load_default_paths(make_server, tmp_path):
    s = make_server(env={"DEFAULT_VECTOR_DB_PERSIST_DIR": str(tmp_path / "base")})
    index(s, "idx", DOCS)
    r = s.post("/persist/idx")
    assert r.json() == {"message": f"Successfully persisted index idx to {tmp_path / 'base' / 'idx'}."}
    s.delete("/indexes/idx")
    r = s.post("/load/idx")
    assert r.status_code == 200, r.text
    assert s.get("/indexes/idx/documents").json()["total_items"] == 3
    # relative default: under the data directory
    s2 = make_server()
    index(s2, "rel", DOCS[:1])
    assert s2.post("/persist/rel").status_code == 200
    assert (s2.data_dir / "storage" / "rel" / "collection.db").is_file()


def test_persist_load_errors(server, tmp_path):
    assert detail(server.post("/persist/nope", params={"path": str(tmp_path / "x")}), 404) == \
        "No such index: 'nope' exists."
    missing = tmp_path / "missing"
    assert detail(server.post("/load/x", params={"path": str(missing)}), 404) == f"Path does not exist: {missing}"
    (tmp_path / "empty").mkdir()
    assert detail(server.post("/load/x", params={"path": str(tmp_path / "empty")}), 500).startswith("Loading failed: ")
    validation(server.post("/load/x", params={"path": str(tmp_path), "overwrite": "maybe"}), ["query", "overwrite"])
    validation(server.post("/load/bad name", params={"path": str(tmp_path)}), ["path", "index_name"])
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "collection.db").write_bytes(b"not a database" * 100)
    assert detail(server.post("/load/x", params={"path": str(tmp_path / "junk")}), 500).startswith("Loading failed: ")
    assert server.get("/indexes").json() == []


# -- metrics --------------------------------------------------------------------------------------

def metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_metrics(server):
    index(server, "mx", DOCS)
    server.get("/indexes")
    server.get("/indexes/mx/documents")
    server.get("/indexes/nope/documents")
    server.post("/retrieve", json={"index_name": "mx", "query": "KAITO"})
    text = server.metrics()
    assert metric(text, "rag_index_requests_total", status="success") == 1
    assert metric(text, "rag_indexes_requests_total", status="success") == 1
    assert metric(text, "rag_indexes_document_requests_total", status="success") == 1
    assert metric(text, "rag_indexes_document_requests_total", status="failure") == 1
    assert metric(text, "rag_indexes_retrieve_requests_total", status="success") == 1
    for name in ["rag_indexes_update_document", "rag_indexes_delete_document", "rag_persist", "rag_load",
                 "rag_delete_index"]:
        assert metric(text, f"{name}_requests_total", status="success") == 0, name
    assert "# TYPE rag_index_latency_seconds histogram" in text
    assert metric(text, "rag_index_latency_seconds_count", status="success") == 1
    assert metric(text, "rag_index_latency_seconds_bucket", status="success", le="+Inf") == 1
    # the existing series are still there
    assert metric(text, "kaito_rag_http_requests_total", route="/index", method="POST", status="200") == 1


def test_chat_metrics_have_kaito_names(server):
    index(server, "chat", DOCS)
    text = server.metrics()
    assert metric(text, "rag_chat_requests_total", status="success") == 0  # declared before the first request
    assert server.post("/v1/chat/completions", json={"index_name": "nope", "model": "m",
                                                     "messages": [{"role": "user", "content": "hi"}]}).status_code == 404
    answered = server.post("/v1/chat/completions", json={"index_name": "chat", "model": "m", "messages": [
        {"role": "user", "content": "How long does parental leave last?"}]})
    assert answered.status_code == 200, answered.text  # extractive: no model server configured
    text = server.metrics()
    assert metric(text, "rag_chat_requests_total", status="success") == 1
    assert metric(text, "rag_chat_requests_total", status="failure") == 1
    assert metric(text, "rag_chat_latency_seconds_count", status="failure") == 1
    assert metric(text, "rag_chat_latency_seconds_bucket", status="success", le="+Inf") == 1


def test_openapi_lists_the_routes(server):
    paths = server.get("/openapi.json").json()["paths"]
    for path, method in [("/health", "get"), ("/index", "post"), ("/indexes", "get"),
                         ("/indexes/{index_name}/documents", "get"), ("/indexes/{index_name}/documents", "post"),
                         ("/indexes/{index_name}/documents/delete", "post"), ("/indexes/{index_name}", "delete"),
                         ("/persist/{index_name}", "post"), ("/load/{index_name}", "post"), ("/retrieve", "post")]:
        assert method in paths[path], (method, path)


# -- KAITO's Python client ------------------------------------------------------------------------

client_mod = pytest.importorskip("kaito_rag_engine_client")


def test_kaito_python_client(server, tmp_path):
    from kaito_rag_engine_client import Client
    from kaito_rag_engine_client.api.index import (create_index, delete_documents_in_index, delete_index,
                                                   list_documents_in_index, list_indexes, load_index,
                                                   persist_index, retrieve_index, update_documents_in_index)
    from kaito_rag_engine_client.api.monitoring import get_health
    from kaito_rag_engine_client.models import (DeleteDocumentRequest, Document, DocumentMetadataType0,
                                                IndexRequest, RetrieveRequest, UpdateDocumentRequest)

    client = Client(base_url=server.url, raise_on_unexpected_status=True, timeout=60)

    health = get_health.sync(client=client)
    assert health.status == "Healthy"

    docs = [Document(text=d["text"], metadata=DocumentMetadataType0.from_dict(d["metadata"])) for d in DOCS]
    created = create_index.sync(client=client, body=IndexRequest(index_name="client_index", documents=docs))
    assert [d.doc_id for d in created] == [sha(d["text"]) for d in DOCS]
    assert created[0].metadata.to_dict() == DOCS[0]["metadata"]

    assert list_indexes.sync(client=client) == ["client_index"]

    listed = list_documents_in_index.sync("client_index", client=client, limit=2)
    assert listed.count == 2 and listed.total_items == 3
    assert listed.documents[0].doc_id == created[0].doc_id
    filtered = list_documents_in_index.sync("client_index", client=client,
                                            metadata_filter=json.dumps({"author": "rag"}))
    assert filtered.total_items == 1 and filtered.documents[0].doc_id == created[1].doc_id
    truncated = list_documents_in_index.sync("client_index", client=client, max_text_length=4)
    assert all(d.is_truncated and len(d.text) == 4 for d in truncated.documents)

    update = UpdateDocumentRequest(documents=[
        Document(doc_id=created[0].doc_id, text="KAITO runs retrieval augmented generation too."),
        Document(doc_id=created[1].doc_id, text=DOCS[1]["text"],
                 metadata=DocumentMetadataType0.from_dict(DOCS[1]["metadata"])),
        Document(doc_id="f" * 64, text="missing"),
    ])
    updated = update_documents_in_index.sync("client_index", client=client, body=update)
    assert [d.doc_id for d in updated.updated_documents] == [created[0].doc_id]
    assert [d.doc_id for d in updated.unchanged_documents] == [created[1].doc_id]
    assert [d.doc_id for d in updated.not_found_documents] == ["f" * 64]

    retrieved = retrieve_index.sync(client=client, body=RetrieveRequest(
        index_name="client_index", query="retrieval augmented generation", max_node_count=2))
    assert retrieved.count >= 1 and retrieved.results[0].doc_id == created[0].doc_id
    assert retrieved.results[0].node_id == f"{created[0].doc_id}:0"
    assert retrieved.results[0].dense_score is None

    deleted = delete_documents_in_index.sync("client_index", client=client,
                                             body=DeleteDocumentRequest(doc_ids=[created[2].doc_id, "nope"]))
    assert deleted.deleted_doc_ids == [created[2].doc_id] and deleted.not_found_doc_ids == ["nope"]

    snapshot = str(tmp_path / "client_snapshot")
    persisted = persist_index.sync("client_index", client=client, path=snapshot)
    assert persisted == {"message": f"Successfully persisted index client_index to {snapshot}."}
    loaded = load_index.sync("client_copy", client=client, path=snapshot)
    assert loaded == {"message": f"Successfully loaded index client_copy from {snapshot}."}
    assert list_indexes.sync(client=client) == ["client_index", "client_copy"]
    assert list_documents_in_index.sync("client_copy", client=client).total_items == 2
    reloaded = load_index.sync_detailed("client_copy", client=Client(base_url=server.url), path=snapshot)
    assert reloaded.status_code == 409
    assert load_index.sync("client_copy", client=client, path=snapshot, overwrite=True)["message"].startswith(
        "Successfully loaded")

    assert delete_index.sync("client_index", client=client) == {"message": "Successfully deleted index client_index."}
    assert list_indexes.sync(client=client) == ["client_copy"]
    missing = delete_index.sync_detailed("client_index", client=Client(base_url=server.url))
    assert missing.status_code == 404
    assert json.loads(missing.content) == {"detail": "No such index: 'client_index' exists."}


def test_kaito_python_client_validation_error(server):
    from kaito_rag_engine_client import Client
    from kaito_rag_engine_client.api.index import retrieve_index
    from kaito_rag_engine_client.models import HTTPValidationError, RetrieveRequest

    client = Client(base_url=server.url, timeout=60)
    index(server, "v", DOCS[:1])
    result = retrieve_index.sync(client=client, body=RetrieveRequest(index_name="v", query="q", max_node_count=0))
    assert isinstance(result, HTTPValidationError)
    assert result.detail[0].loc == ["body", "max_node_count"]
