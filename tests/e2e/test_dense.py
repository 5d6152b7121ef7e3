"""Dense and hybrid retrieval end to end with the real local encoder (all-MiniLM-L6-v2 from
scripts/fetch_models.sh): HTTP search modes, /v1/embeddings through the official openai client,
and a second Kaito-RAG that embeds remotely through the first one's /v1/embeddings."""
from __future__ import annotations

import base64
import os
import struct
from pathlib import Path

import pytest

from conftest import assert_error_body, check_store, run_cli

MODEL_CACHE = Path(os.environ.get("KAITO_RAG_MODEL_CACHE", Path.home() / ".cache" / "kaito-rag" / "models"))
MINILM = MODEL_CACHE / "all-MiniLM-L6-v2"

pytestmark = pytest.mark.skipif(not (MINILM / "model.safetensors").exists(),
                                reason=f"all-MiniLM-L6-v2 not in {MODEL_CACHE}: run scripts/fetch_models.sh")

DOCS = {
    "vacation.txt": "Employees receive 25 days of paid vacation per year.",
    "parking.txt": "Spaces are assigned by seniority. Badges open the gate at 6am.",
    "expenses.txt": "Submit expense reports within 30 days via the finance portal.",
}
PARAPHRASE = "how much time off do workers get annually"


def upload_docs(server, collection="docs"):
    files = [("files", (name, text.encode(), "text/plain")) for name, text in DOCS.items()]
    r = server.post(f"/v1/collections/{collection}/documents", files=files)
    assert r.status_code in (200, 201), r.text
    assert r.json()["failed"] == 0, r.text


@pytest.fixture
def dense_server(make_server):
    return make_server(args=["--embedding-model", str(MINILM), "--embedding-threads", "2"])


def test_search_modes_over_http(dense_server):
    upload_docs(dense_server)
    info = dense_server.get("/v1/collections/docs").json()
    assert info["embeddings"] == {"model": "all-MiniLM-L6-v2", "dimension": 384, "vectors": 3, "index": "exact"}
    bm25 = dense_server.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "bm25"}).json()
    assert bm25["mode"] == "bm25"
    assert all(hit["document_name"] != "vacation.txt" for hit in bm25["results"])
    for mode in ("dense", "hybrid"):
        body = dense_server.post("/v1/collections/docs/search",
                                 json={"query": PARAPHRASE, "mode": mode, "top_k": 2}).json()
        assert body["mode"] == mode
        assert body["results"][0]["document_name"] == "vacation.txt", body
        assert body["results"][0]["dense_score"] > 0.3
        assert body["embed_ms"] > 0
    default = dense_server.post("/v1/collections/docs/search", json={"query": PARAPHRASE}).json()
    assert default["mode"] == "hybrid"
    normalized = dense_server.post("/v1/collections/docs/search",
                                   json={"query": PARAPHRASE, "fusion": "normalized", "alpha": 0.7}).json()
    assert normalized["results"][0]["document_name"] == "vacation.txt"
    r = dense_server.post("/v1/collections/docs/search", json={"query": "x", "mode": "fuzzy"})
    assert_error_body(r, 400)
    r = dense_server.post("/v1/collections/docs/search", json={"query": "x", "alpha": 2})
    assert_error_body(r, 400)
    # The ask path retrieves the same way (extractive here: no model configured).
    answer = dense_server.post("/v1/collections/docs/ask", json={"question": PARAPHRASE, "top_k": 1}).json()
    assert answer["sources"][0]["document_name"] == "vacation.txt"
    dense_server.stop()
    check_store(dense_server.data_dir)


def test_collection_defaults_and_lexical_server(make_server, dense_server):
    r = dense_server.post("/v1/collections", json={"name": "lex", "search_mode": "bm25", "fusion": "normalized"})
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["search_mode"] == "bm25"
    upload_docs(dense_server, "lex")
    assert dense_server.post("/v1/collections/lex/search", json={"query": "vacation"}).json()["mode"] == "bm25"
    # Without an embedding model, dense requests say what is missing (409), default searches use BM25.
    plain = make_server()
    upload_docs(plain)
    assert plain.post("/v1/collections/docs/search", json={"query": "vacation"}).json()["mode"] == "bm25"
    r = plain.post("/v1/collections/docs/search", json={"query": "vacation", "mode": "dense"})
    body = assert_error_body(r, 409)
    assert "embedding" in body["error"]["message"]
    r = plain.post("/v1/embeddings", json={"input": "hello"})
    assert r.status_code == 503


def test_openai_client_embeddings(dense_server):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=dense_server.url + "/v1", api_key="unused")
    models = [m.id for m in client.models.list().data]
    assert "all-MiniLM-L6-v2" in models
    # The client asks for base64 by default and decodes it; float must give the same numbers.
    texts = ["The cat sits on the mat.", "Employees receive 25 days of paid vacation per year.", ""]
    result = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)
    assert [d.index for d in result.data] == [0, 1, 2]
    vectors = [d.embedding for d in result.data]
    assert all(len(v) == 384 for v in vectors)
    assert abs(sum(x * x for x in vectors[1]) - 1) < 1e-4
    floats = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts, encoding_format="float")
    for a, b in zip(vectors, (d.embedding for d in floats.data)):
        assert max(abs(x - y) for x, y in zip(a, b)) < 1e-6
    raw = dense_server.post("/v1/embeddings", json={"input": "hello", "encoding_format": "base64"}).json()
    decoded = struct.unpack("<384f", base64.b64decode(raw["data"][0]["embedding"]))
    assert abs(sum(x * x for x in decoded) - 1) < 1e-4
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input=[[1, 2, 3]])


def test_remote_embeddings_through_another_kaito_rag(make_server, dense_server):
    """A second server embeds through the first one's OpenAI-compatible /v1/embeddings."""
    remote = make_server(args=["--embedding-url", dense_server.url + "/v1", "--embedding-protocol", "openai",
                               "--embedding-name", "all-MiniLM-L6-v2"])
    upload_docs(remote)
    info = remote.get("/v1/collections/docs").json()
    assert info["embeddings"]["model"] == "all-MiniLM-L6-v2" and info["embeddings"]["vectors"] == 3
    body = remote.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "dense"}).json()
    assert body["results"][0]["document_name"] == "vacation.txt"
    # The embedding server goes away: explicit dense search is 503, default search falls back to BM25,
    # uploads fail cleanly per file, and nothing stored is lost.
    dense_server.stop()
    # A query seen before is still answered from the query-embedding cache; a new one needs the server.
    cached = remote.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "dense"}).json()
    assert cached["results"][0]["document_name"] == "vacation.txt"
    r = remote.post("/v1/collections/docs/search", json={"query": PARAPHRASE + " per year", "mode": "dense"})
    assert_error_body(r, 503)
    fallback = remote.post("/v1/collections/docs/search", json={"query": "vacation"}).json()
    assert fallback["mode"] == "bm25" and fallback["warnings"]
    r = remote.post("/v1/collections/docs/documents",
                    files=[("files", ("new.txt", b"Bicycles may be parked in the courtyard.", "text/plain"))])
    assert r.json()["failed"] == 1, r.text
    assert remote.get("/v1/collections/docs").json()["documents"] == 3
    remote.stop()
    check_store(remote.data_dir)


def test_encoder_precision_is_logged_in_metrics_and_close_to_fp32(make_server):
    """--encoder-precision: each server logs the path it runs and shows it in /metrics; int8
    vectors stay within cosine 0.99 of fp32 and retrieve the same document; auto picks one."""
    texts = ["Employees receive 25 days of paid vacation per year.", PARAPHRASE, "?!", "数据库 检索"]
    vectors = {}
    for precision in ("fp32", "int8", "auto"):
        server = make_server(args=["--embedding-model", str(MINILM), "--embedding-threads", "2",
                                   "--encoder-precision", precision])
        metrics = server.get("/metrics").text
        lines = [line for line in metrics.splitlines() if line.startswith("kaito_rag_encoder_info{")]
        assert len(lines) == 1, metrics
        chosen = lines[0].split('precision="')[1].split('"')[0]
        assert lines[0] == f'kaito_rag_encoder_info{{model="all-MiniLM-L6-v2",precision="{chosen}"}} 1'
        assert chosen == precision if precision != "auto" else chosen in ("fp32", "bf16", "int8")
        assert f"encoder precision precision={chosen} requested={precision}" in server.log(), server.log()
        body = server.post("/v1/embeddings", json={"input": texts}).json()
        vectors[precision] = [d["embedding"] for d in body["data"]]
        upload_docs(server)
        hits = server.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "dense"}).json()
        assert hits["results"][0]["document_name"] == "vacation.txt"
        server.stop()
    for a, b in zip(vectors["fp32"], vectors["int8"]):
        assert sum(x * y for x, y in zip(a, b)) >= 0.99


def test_unknown_encoder_precision_is_refused():
    proc = run_cli("--encoder-precision", "fp16", "--print-config")
    assert proc.returncode != 0
    assert "encoder_precision must be auto, fp32, bf16 or int8" in proc.stderr + proc.stdout


def metric(server, name):
    lines = [line for line in server.get("/metrics").text.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1, name
    return float(lines[0].split()[1])


def test_query_embedding_cache_counts_hits_in_metrics(make_server):
    """A repeated query reuses its cached vector (same ranking, counted as a hit in /metrics);
    --query-embedding-cache 0 turns the cache off."""
    server = make_server(args=["--embedding-model", str(MINILM), "--embedding-threads", "2"])
    upload_docs(server)
    hit, miss = 'kaito_rag_query_embedding_cache_total{result="hit"}', 'kaito_rag_query_embedding_cache_total{result="miss"}'
    assert metric(server, hit) == 0 and metric(server, miss) == 0
    first = server.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "dense"}).json()
    again = server.post("/v1/collections/docs/search", json={"query": "  " + PARAPHRASE, "mode": "hybrid"}).json()
    assert metric(server, miss) == 1 and metric(server, hit) == 1
    assert metric(server, "kaito_rag_query_embedding_cache_entries") == 1
    assert first["results"][0]["document_name"] == again["results"][0]["document_name"] == "vacation.txt"
    server.stop()
    off = make_server(args=["--embedding-model", str(MINILM), "--embedding-threads", "2", "--query-embedding-cache", "0"])
    upload_docs(off)
    for _ in range(2):
        off.post("/v1/collections/docs/search", json={"query": PARAPHRASE, "mode": "dense"})
    assert metric(off, hit) == 0 and metric(off, miss) == 2
    assert metric(off, "kaito_rag_query_embedding_cache_entries") == 0
