#!/usr/bin/env python3
"""Search latency while a bulk ingest runs, against the same server idle (issue 9: p99 <= 2x idle).

Starts kaito-rag (KR_BIN or --bin) with the local all-MiniLM-L6-v2 on a fresh data directory, seeds
index "seed" with the first --seed pubmedqa-dev passages (POST /index, batches of 50), then:
  1. idle: --queries sequential POST /retrieve (hybrid, top 10) on one keep-alive connection;
  2. loaded: the same queries again while another thread ingests the next --bulk passages into
     index "bulk" (POST /index, batches of 50) through the same server; the queries repeat
     until the ingest has finished, and only queries that ran while it ran are counted.
Reports p50/p99/max of each, the p99 ratio, the ingest's docs/s, the server's CPU seconds per phase
(from /proc, independent of other load) and the 1-minute load average. Standard library only.

  bench/search_during_ingest.py --bin build/release/src/kaito-rag [--seed 500] [--bulk 1500]
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ingest_efficiency import EVAL, MODEL, ROOT, cpu_seconds, free_port, post  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(latencies):
    ms = [x * 1000 for x in latencies]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2) if ms else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", os.path.join(ROOT, "build/release/src/kaito-rag")))
    ap.add_argument("--seed", type=int, default=500, help="passages indexed before measuring")
    ap.add_argument("--bulk", type=int, default=1500, help="passages ingested while searching")
    ap.add_argument("--queries", type=int, default=200)
    a = ap.parse_args()

    with open(os.path.join(EVAL, "corpus.jsonl")) as f:
        corpus = [json.loads(line) for line in f]
    with open(os.path.join(EVAL, "queries.jsonl")) as f:
        queries = [json.loads(line)["text"] for line in f][: a.queries]
    data_dir = tempfile.mkdtemp(prefix="kr_sdi_")
    port = free_port()
    env = dict(os.environ, KAITO_RAG_DATA_DIR=data_dir, KAITO_RAG_PORT=str(port), KAITO_RAG_HOST="127.0.0.1",
               KAITO_RAG_EMBEDDING_MODEL=MODEL, KAITO_RAG_LOG_LEVEL="warn")
    server = subprocess.Popen([a.bin, "serve"], env=env)
    base = f"http://127.0.0.1:{port}"

    def index(name, passages):
        for i in range(0, len(passages), 50):
            batch = [{"text": d["text"], "metadata": {"id": d["_id"]}} for d in passages[i:i + 50]]
            try:
                assert len(post(base + "/index", {"index_name": name, "documents": batch})) == len(batch)
            except urllib.error.HTTPError as e:
                sys.exit(f"POST /index: {e.code} {e.read().decode(errors='replace')}")

    def search(conn, query):
        body = json.dumps({"index_name": "seed", "query": query, "max_node_count": 10})
        t0 = time.perf_counter()
        conn.request("POST", "/retrieve", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status
        return time.perf_counter() - t0

    try:
        for _ in range(600):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/readyz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        index("seed", corpus[: a.seed])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for q in queries[:20]:
            search(conn, q)  # warm-up
        cpu0 = cpu_seconds(server.pid)
        idle = [search(conn, q) for q in queries]
        idle_cpu = cpu_seconds(server.pid) - cpu0

        bulk = corpus[a.seed: a.seed + a.bulk]
        ingest = {}

        def run_ingest():
            t0 = time.perf_counter()
            index("bulk", bulk)
            ingest["wall_s"] = time.perf_counter() - t0

        cpu0 = cpu_seconds(server.pid)
        ingester = threading.Thread(target=run_ingest)
        ingester.start()
        loaded = []
        while ingester.is_alive():
            for q in queries:
                latency = search(conn, q)
                if not ingester.is_alive():
                    break
                loaded.append(latency)
        ingester.join()
        loaded_cpu = cpu_seconds(server.pid) - cpu0
        result = {"seed_docs": a.seed, "bulk_docs": len(bulk), "idle": summary(idle), "during_ingest": summary(loaded),
                  "p99_ratio": round(percentile(loaded, 99) / percentile(idle, 99), 2),
                  "p50_ratio": round(percentile(loaded, 50) / percentile(idle, 50), 2),
                  "ingest_wall_s": round(ingest["wall_s"], 1), "ingest_docs_per_s": round(len(bulk) / ingest["wall_s"], 1),
                  "idle_cpu_s": round(idle_cpu, 2), "during_ingest_cpu_s": round(loaded_cpu, 2),
                  "loadavg_1m": os.getloadavg()[0]}
        print(json.dumps(result))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        subprocess.run(["rm", "-rf", data_dir])


if __name__ == "__main__":
    sys.exit(main())
