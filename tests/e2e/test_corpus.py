"""The shared real-world corpus (<repo>/../shared/corpus): ingest all of it with the CLI, then serve it."""
import json
import time

import pytest

from conftest import CORPUS, check_store, run_cli

pytestmark = [pytest.mark.corpus, pytest.mark.slow]


@pytest.fixture(scope="module")
def corpus_dir():
    if not CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {CORPUS} (the corpus test needs <repo>/../shared/corpus)")
    return CORPUS


def test_ingest_whole_corpus(corpus_dir, tmp_path, make_server):
    data_dir = tmp_path / "corpus-data"
    started = time.monotonic()
    proc = run_cli("ingest", corpus_dir, "--data-dir", data_dir, "-c", "corpus", "--parse-max-seconds", "60",
                   timeout=15 * 60)
    took = time.monotonic() - started
    summary = [line for line in proc.stderr.splitlines() if line.startswith("Ingested into")]
    print(f"\ncorpus ingest: exit {proc.returncode} in {took:.0f} s\n" + "\n".join(summary))
    failures = proc.stderr.split("Files that could not be ingested:", 1)
    if len(failures) == 2:
        print("failed files:\n" + failures[1].strip()[:4000])
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert summary, proc.stderr[-2000:]
    check_store(data_dir)

    server = make_server(data_dir=data_dir)
    info = server.get("/v1/collections/corpus").json()
    assert info["documents"] > 100, info
    for query in ("introduction", "table of contents", "revenue", "Lorem ipsum"):
        r = server.post("/v1/collections/corpus/search", json={"query": query, "top_k": 10})
        assert r.status_code == 200, r.text
    assert server.post("/v1/collections/corpus/ask", json={"question": "What is this document about?"}).status_code \
        == 200
    docs = server.all_documents("corpus")
    assert len(docs) == info["documents"]
    json.dumps(docs)  # valid JSON all the way through
    assert server.healthy()
    server.stop()
    check_store(data_dir)
