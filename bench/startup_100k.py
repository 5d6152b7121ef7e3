#!/usr/bin/env python3
"""Start-up and search latency of a 100k-chunk collection.

    bench/startup_100k.py [--bin build/release/src/kaito-rag] [--chunks 100000] [--queries 200]

1. `kr_startup_bench --build` writes the collection straight into a fresh data directory through the
   store (no encoder: minutes instead of an hour): the 3,358 pubmedqa-dev passages as chunks, then
   generated chunks up to --chunks (a passage's sentences shuffled, plus one sentence of another
   passage and a unique token: the corpus' term statistics). Every chunk gets a random unit vector
   labelled with the local all-MiniLM-L6-v2's model id, so dense and hybrid searches run for real
   (query embedding, HNSW walk, fusion) but dense relevance is meaningless: latency only.
2. Starts `kaito-rag serve` on it twice: the first start has no vector snapshot (as after a crash:
   BM25 and vectors rebuilt from the store), the second opens the snapshot the first saved at
   shutdown. Each reports seconds from exec to /readyz, to the first answered search, and to the
   HNSW graph being ready (GET /v1/collections/NAME: embeddings.index == "hnsw").
3. Search p50/p99 for bm25, dense and hybrid (top_k 10), --queries pubmedqa-dev questions sequentially,
   then the same from 8 clients: once as soon as the first start answers (dense = exact scan while the
   graph builds in the background) and once on the second start with its graph.
Prints one JSON line per phase as it completes (with the server's CPU seconds so far, which do not
depend on other load), then the whole result. Standard library only; KR_EVAL_DIR overrides
../shared/eval/pubmedqa-dev.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.environ.get("KR_EVAL_DIR", os.path.join(ROOT, "..", "shared", "eval", "pubmedqa-dev"))
MODEL = os.path.join(os.environ.get("KAITO_RAG_MODEL_CACHE", os.path.expanduser("~/.cache/kaito-rag/models")),
                     "all-MiniLM-L6-v2")
NAME = "big"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(conn, method, path, body=None):
    conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                 headers={"Content-Type": "application/json"} if body is not None else {})
    r = conn.getresponse()
    return r.status, r.read()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def start(binary, data_dir, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_")}
    env.update(KAITO_RAG_DATA_DIR=data_dir, KAITO_RAG_PORT=str(port), KAITO_RAG_HOST="127.0.0.1",
               KAITO_RAG_EMBEDDING_MODEL=MODEL, KAITO_RAG_LOG_LEVEL="warn")
    return subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until(check, timeout=1800):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit("timed out waiting for the server")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return round(sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK"), 1)


def report(phase, values):
    print(json.dumps({"phase": phase, **values}), flush=True)


def timed_start(binary, data_dir, query):
    """Seconds (and server CPU seconds) from exec to ready and to the first search answered."""
    port = free_port()
    started = time.monotonic()
    proc = start(binary, data_dir, port)
    conn = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    wait_until(lambda: call(conn(), "GET", "/readyz")[0] == 200)
    times = {"ready_s": round(time.monotonic() - started, 2), "ready_cpu_s": cpu_seconds(proc.pid)}
    wait_until(lambda: call(conn(), "POST", f"/v1/collections/{NAME}/search",
                            {"query": query, "mode": "hybrid"})[0] == 200)
    times.update(searchable_s=round(time.monotonic() - started, 2), searchable_cpu_s=cpu_seconds(proc.pid))
    return proc, port, started, times


def wait_for_graph(proc, port, started):
    """Below vector_exact_threshold (20,000) the exact scan is the index and there is no graph."""
    conn = lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    wait_until(lambda: json.loads(call(conn(), "GET", f"/v1/collections/{NAME}")[1])["embeddings"]["index"] == "hnsw",
               timeout=7200)
    return {"hnsw_ready_s": round(time.monotonic() - started, 2), "hnsw_ready_cpu_s": cpu_seconds(proc.pid)}


def index_kind(port):
    info = json.loads(call(http.client.HTTPConnection("127.0.0.1", port, timeout=60), "GET", f"/v1/collections/{NAME}")[1])
    return {"documents": info["documents"], "chunks": info["chunks"], "vectors": info["embeddings"]["vectors"],
            "index": info["embeddings"]["index"]}


def search_phase(port, queries, clients):
    out = {"collection_before": index_kind(port)}
    for n in (1, clients):
        for mode in ("bm25", "dense", "hybrid"):
            out[f"{mode}_{n}_clients"] = latencies(port, queries, mode, n)
    out["collection_after"] = index_kind(port)
    return out


def latencies(port, queries, mode, clients):
    """p50/p99 in ms of one search per query, spread over `clients` keep-alive connections."""
    seconds, lock, failures = [], threading.Lock(), []

    def run(part):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for q in part:
            t0 = time.perf_counter()
            status, body = call(conn, "POST", f"/v1/collections/{NAME}/search", {"query": q, "mode": mode, "top_k": 10})
            elapsed = time.perf_counter() - t0
            answer = json.loads(body)
            with lock:
                if status != 200 or answer.get("mode") != mode:
                    failures.append((status, body[:200]))
                seconds.append(elapsed)
        conn.close()

    threads = [threading.Thread(target=run, args=(queries[i::clients],)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        sys.exit(f"{mode} search failed: {failures[0]}")
    return {"p50_ms": round(percentile(seconds, 0.5) * 1000, 1), "p99_ms": round(percentile(seconds, 0.99) * 1000, 1),
            "queries_per_s": round(len(seconds) / wall, 1)}


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=300)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", os.path.join(ROOT, "build/release/src/kaito-rag")))
    ap.add_argument("--builder", default=os.path.join(ROOT, "build/release/bench/kr_startup_bench"))
    ap.add_argument("--chunks", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=200, help="queries per mode and concurrency (pubmedqa-dev)")
    ap.add_argument("--clients", type=int, default=8)
    a = ap.parse_args()
    with open(os.path.join(EVAL, "queries.jsonl")) as f:
        queries = [json.loads(line)["text"] for line in f][: a.queries]

    data_dir = tempfile.mkdtemp(prefix="kr_startup_")
    graph = a.chunks >= 20000
    result = {}
    try:
        built = subprocess.run([a.builder, "--build", data_dir, NAME, str(a.chunks), os.path.join(EVAL, "corpus.jsonl"),
                                os.path.basename(MODEL)], check=True, capture_output=True, text=True)
        result["build"] = json.loads(built.stdout)
        report("build", result["build"])
        proc, port, started, result["first_start"] = timed_start(a.bin, data_dir, queries[0])
        report("first_start", result["first_start"])
        try:
            result["search_first_start"] = search_phase(port, queries, a.clients)
            report("search_first_start", result["search_first_start"])
            if graph:
                result["first_start"].update(wait_for_graph(proc, port, started))
                report("first_start_graph", result["first_start"])
        finally:
            stop(proc)  # saves the vector snapshot
        proc, port, started, result["second_start"] = timed_start(a.bin, data_dir, queries[0])
        try:
            if graph:
                result["second_start"].update(wait_for_graph(proc, port, started))
            report("second_start", result["second_start"])
            result["search_second_start"] = search_phase(port, queries, a.clients)
            report("search_second_start", result["search_second_start"])
        finally:
            stop(proc)
        result["loadavg_1m_after"] = os.getloadavg()[0]
        print(json.dumps(result, indent=2))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
