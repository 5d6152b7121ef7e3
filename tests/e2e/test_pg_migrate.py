"""kaito-rag migrate-store against a real PostgreSQL + pgvector (tests/e2e/pg.py): a collection copied
from the embedded store to PostgreSQL and back, verified by counts and checksums (documents, chunks,
embeddings, originals, settings), served the same by a server on either side; never over an
existing collection unless asked; never while a server owns the data directory."""
from __future__ import annotations

import json
import uuid

import pytest

from conftest import SAMPLES, run_cli
from test_pg_store import MINILM, MODEL_CACHE, postgres  # noqa: F401 — the real PostgreSQL of the store tests

pytestmark = pytest.mark.skipif(not (MINILM / "model.safetensors").exists(),
                                reason=f"all-MiniLM-L6-v2 not in {MODEL_CACHE}: run scripts/fetch_models.sh")
EMBED = ["--embedding-model", str(MINILM), "--embedding-threads", "1"]
SETTINGS = {"description": "People team", "bm25_k1": 1.4, "chunk_max_tokens": 120}
QUERIES = ["minimum password length", "how many days of paid vacation", "expense reports deadline"]


def migrate(data_dir, url, collection, to, *extra):
    return run_cli("migrate-store", collection, "--to", to, "--data-dir", data_dir, "--pg-url", url, *extra,
                   timeout=300)


def verified(proc) -> dict:
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verified"] is True
    assert report["source"] == report["copy"]
    return report["copy"]


def rankings(server, collection):
    return {(q, mode): [(h["document_name"], h["text"]) for h in
                        server.search(collection, q, mode=mode, top_k=5)["results"]]
            for q in QUERIES for mode in ("bm25", "dense")}


def originals(server, collection):
    out = {}
    for d in server.all_documents(collection):
        r = server.get(f"/v1/collections/{collection}/documents/{d['doc_id']}/original")
        assert r.status_code == 200, r.text
        out[d["name"]] = r.content
    return out


def test_embedded_to_postgres_and_back(make_server, postgres, tmp_path):  # noqa: F811
    url = postgres.create_database("kr_" + uuid.uuid4().hex[:12])
    source = make_server(args=["--store", "embedded", *EMBED], name="embedded")
    source.create_collection("hb", **SETTINGS)
    assert source.upload_ok("hb", sorted(SAMPLES.iterdir()))["failed"] == 0
    expected = rankings(source, "hb")
    expected_info = source.get("/v1/collections/hb").json()
    # A server owns its data directory: migrating from under it is refused.
    busy = migrate(source.data_dir, url, "hb", "postgres")
    assert busy.returncode == 1 and "stop the server" in busy.stderr, busy.stderr
    source.stop()

    proc = migrate(source.data_dir, url, "hb", "postgres", "--json")
    digest = verified(proc)
    assert "documents 5/5" in proc.stderr and "verifying counts and checksums" in proc.stderr
    assert digest["documents"] == 5 and digest["originals"] == 5
    assert digest["chunks"] == expected_info["chunks"] and digest["embeddings"] == digest["chunks"] > 0
    assert digest["settings"] >= len(SETTINGS)

    # Never over an existing collection unless asked; then replaced with the same content.
    again = migrate(source.data_dir, url, "hb", "postgres")
    assert again.returncode == 1 and "already exists" in again.stderr and "--overwrite" in again.stderr
    assert verified(migrate(source.data_dir, url, "hb", "postgres", "--overwrite", "--json")) == digest

    replica = make_server(args=["--store", "postgres", *EMBED], env={"KAITO_RAG_PG_URL": url}, name="replica")
    info = replica.get("/v1/collections/hb").json()
    for key in ("documents", "chunks", "text_bytes"):
        assert info[key] == expected_info[key], key
    assert {k: info["settings"][k] for k in SETTINGS} == SETTINGS
    assert rankings(replica, "hb") == expected
    assert originals(replica, "hb") == {p.name: p.read_bytes() for p in SAMPLES.iterdir()}
    replica.stop()

    # Back to a fresh data directory under another name: the same checksums both ways.
    back_dir = tmp_path / "back"
    back = verified(migrate(back_dir, url, "hb", "embedded", "--as", "hb2", "--json"))
    assert back == digest
    refused = migrate(back_dir, url, "hb", "embedded", "--as", "hb2")
    assert refused.returncode == 1 and "already exists" in refused.stderr
    restored = make_server(args=["--store", "embedded", *EMBED], data_dir=back_dir, name="restored")
    assert restored.get("/v1/collections/hb2").json()["documents"] == 5
    assert rankings(restored, "hb2") == expected
    assert originals(restored, "hb2") == {p.name: p.read_bytes() for p in SAMPLES.iterdir()}


def test_missing_collection_and_missing_database_are_clear_errors(postgres, tmp_path):  # noqa: F811
    url = postgres.create_database("kr_" + uuid.uuid4().hex[:12])
    proc = migrate(tmp_path / "empty", url, "nope", "postgres")
    assert proc.returncode == 1 and "no collection 'nope'" in proc.stderr
    proc = migrate(tmp_path / "empty", url, "nope", "embedded")
    assert proc.returncode == 1 and "no collection 'nope' in the PostgreSQL store" in proc.stderr
    proc = run_cli("migrate-store", "x", "--to", "postgres", "--data-dir", tmp_path / "empty")
    assert proc.returncode == 1 and "--pg-url" in proc.stderr
