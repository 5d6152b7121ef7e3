#!/usr/bin/env python3
"""Retrieval latency at 100k chunks: KAITO RAGEngine v0.12.0's /retrieve vs Kaito-RAG's /retrieve and search.

    bench/ragengine_100k.py [--work build/r100k] [--chunks 100000] [--queries 200] [--clients 8]
                            [--re-queries 4] [--re-conc-queries 8] [--re-warmup 0|1] [--no-graph-wait]

Ingesting 100k chunks through RAGEngine's API would take ≈2.2 h (12.5 docs/s), so both indexes are written
in-process, with the same texts and the same vectors, and only queries go through the HTTP APIs:
1. `kr_startup_bench --build` writes our 100k-chunk collection "big" (bench/startup_100k.py's generator: the
   3,358 pubmedqa-dev passages, then generated chunks) with a random unit vector per chunk.
2. Its chunk texts and vectors are exported, and bench/ragengine_index_builder.py, run in RAGEngine's venv,
   indexes them with RAGEngine's own FaissVectorStoreHandler (one document per chunk, the vector store
   answering each text with its vector) and persists the index in RAGEngine's format.
3. The real RAGEngine server (started as bench/ragengine_head_to_head.sh does: offline, local MiniLM) loads it
   through POST /load/big; /retrieve (max_node_count 10) is timed sequentially and from --clients clients.
   RAGEngine rebuilds its BM25 retriever over the whole docstore on every query, so its query counts are capped
   (--re-queries, --re-conc-queries: the first questions of the same list).
4. Kaito-RAG is started on the collection (after RAGEngine has stopped), the HNSW graph awaited, then the same
   questions timed through /retrieve and through /v1/collections/big/search in bm25, dense and hybrid.
Queries are embedded by each server's real all-MiniLM-L6-v2, but the indexed vectors are random: dense
results are meaningless, so this measures latency only. Steps 1-2 are skipped when --work already holds
their output. Writes WORK/results.json and WORK/table.md; prints one JSON line per phase with the load average.
"""
import argparse
import http.client
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.environ.get("SHARED_BENCH", os.path.join(ROOT, "..", "shared", "bench")))
import ragengine_api_bench as api  # noqa: E402  (../shared/bench: Conn, pct, loadavg, tree CPU and RSS)
import startup_100k as s100k  # noqa: E402  (server start, /readyz and graph waits, the eval set)

NAME = s100k.NAME
RAGENGINE_SRC = os.environ.get("RAGENGINE_SRC", "/work/peers/ragengine/presets/ragengine")
RAGENGINE_VENV = os.environ.get("RAGENGINE_VENV", "/work/peers/ragengine-venv")


def report(phase, values):
    values = {"phase": phase, "utc": time.strftime("%H:%M:%S", time.gmtime()), "loadavg": api.loadavg(), **values}
    print(json.dumps(values), flush=True)
    return values


def build_collection(builder, work, chunks):
    data_dir = os.path.join(work, "kr")
    if not os.path.exists(os.path.join(data_dir, "collections", NAME, "collection.db")):
        out = subprocess.run([builder, "--build", data_dir, NAME, str(chunks), os.path.join(s100k.EVAL, "corpus.jsonl"),
                              os.path.basename(s100k.MODEL)], check=True, capture_output=True, text=True).stdout
        with open(os.path.join(work, "kr_build.json"), "w") as f:
            json.dump(report("kaito_rag_collection_built", json.loads(out)), f)
    return data_dir


def export_chunks(data_dir, work):
    """Chunk texts (JSON lines) and their float32 vectors (raw rows), in chunk order."""
    texts, vectors = os.path.join(work, "texts.jsonl"), os.path.join(work, "vectors.f32")
    if not os.path.exists(vectors):
        db = sqlite3.connect(f"file:{data_dir}/collections/{NAME}/collection.db?mode=ro", uri=True)
        with open(texts + ".tmp", "w") as t, open(vectors + ".tmp", "wb") as v:
            for text, vector in db.execute("SELECT c.text, v.vector FROM chunks c JOIN chunk_vectors v "
                                           "ON v.chunk_id = c.id ORDER BY c.id"):
                t.write(json.dumps({"text": text}) + "\n")
                v.write(vector)
        os.replace(texts + ".tmp", texts)
        os.replace(vectors + ".tmp", vectors)
    return texts, vectors


def ragengine_env():
    env = dict(os.environ, PYTHONPATH=os.path.dirname(RAGENGINE_SRC), EMBEDDING_SOURCE_TYPE="local",
               LOCAL_EMBEDDING_MODEL_ID=s100k.MODEL, VECTOR_DB_TYPE="faiss",
               LLM_INFERENCE_URL="http://127.0.0.1:9/v1/chat/completions",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


def build_ragengine_index(texts, vectors, work):
    persist = os.path.join(work, "ragengine_index")
    if not os.path.exists(os.path.join(persist, "docstore.json")):
        out = subprocess.run([os.path.join(RAGENGINE_VENV, "bin", "python"), os.path.join(HERE, "ragengine_index_builder.py"),
                              texts, vectors, persist, "--name", NAME], env=ragengine_env(), cwd=RAGENGINE_SRC,
                             check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        with open(persist + ".json", "w") as f:
            json.dump(report("ragengine_index_built", json.loads(out.strip().splitlines()[-1])), f)
    return persist


def timed(port, path, bodies, clients, accept):
    """Latency of one POST per body over `clients` keep-alive connections; a wrong answer is an error."""
    seconds, errors, lock = [], [], threading.Lock()

    def run(part):
        conn = api.Conn(f"http://127.0.0.1:{port}", 3600)
        for body in part:
            t0 = time.perf_counter()
            try:
                status, answer = conn.json("POST", path, body)
                ok = status == 200 and accept(answer)
            except OSError as e:
                status, answer, ok = -1, repr(e), False
            with lock:
                seconds.append(time.perf_counter() - t0)
                if not ok:
                    errors.append({"status": status, "body": str(answer)[:200]})

    threads = [threading.Thread(target=run, args=(bodies[i::clients],)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"n": len(seconds), "p50_ms": round(api.pct(seconds, 50) * 1e3, 1), "p99_ms": round(api.pct(seconds, 99) * 1e3, 1),
            "max_ms": round(max(seconds) * 1e3, 1), "queries_per_s": round(len(seconds) / wall, 2),
            "errors": len(errors), "first_error": errors[0] if errors else None}


def retrieve_bodies(queries):
    return [{"index_name": NAME, "query": q, "max_node_count": 10} for q in queries]


def has_results(answer):
    return isinstance(answer, dict) and answer.get("count", 0) > 0


def measure(label, pid, port, path, bodies, clients, accept):
    cpu = api.PhaseCPU(pid)
    out = {"sequential": timed(port, path, bodies[0], 1, accept)}
    out["sequential"]["cpu"] = cpu.done()
    cpu = api.PhaseCPU(pid)
    out[f"{clients}_clients"] = timed(port, path, bodies[1], clients, accept)
    out[f"{clients}_clients"]["cpu"] = cpu.done()
    return report(label, out)


def run_ragengine(persist, queries, a):
    port = s100k.free_port()
    log = open(os.path.join(a.work, "ragengine.log"), "w")
    proc = subprocess.Popen([os.path.join(RAGENGINE_VENV, "bin", "python3"), "-c",
                             "import sys, uvicorn, main\n"
                             "uvicorn.run(main.app, host='127.0.0.1', port=int(sys.argv[1]), loop='asyncio')", str(port)],
                            cwd=RAGENGINE_SRC, env=ragengine_env(), stdout=log, stderr=subprocess.STDOUT)
    result = {}
    try:
        api.wait_healthy(f"http://127.0.0.1:{port}", 600)
        conn = api.Conn(f"http://127.0.0.1:{port}", 3600)
        t0, cpu = time.perf_counter(), api.PhaseCPU(proc.pid)
        status, body = conn.json("POST", f"/load/{NAME}?path={urllib.parse.quote(persist)}&overwrite=false")
        if status != 200:
            sys.exit(f"RAGEngine /load answered {status}: {body}")
        result["load"] = report("ragengine_load", {"load_s": round(time.perf_counter() - t0, 1), "cpu": cpu.done(),
                                                   "rss_mib": round(api.tree_rss_kb(proc.pid)[0] / 1024)})
        if a.re_warmup:  # one untimed query; at 100k on a loaded machine it costs as much as a timed one
            t0 = time.perf_counter()
            status, body = conn.json("POST", "/retrieve", retrieve_bodies(["warm up query about vaccines"])[0])
            result["first_retrieve_s"] = round(time.perf_counter() - t0, 1)
        bodies = (retrieve_bodies(queries[:a.re_queries]), retrieve_bodies(queries[:a.re_conc_queries]))
        result["retrieve"] = measure("ragengine_retrieve", proc.pid, port, "/retrieve", bodies, a.clients, has_results)
        result["rss_mib_after"] = round(api.tree_rss_kb(proc.pid)[0] / 1024)
    finally:
        s100k.stop(proc)
        log.close()
    return result


def run_kaito_rag(data_dir, queries, a):
    port = s100k.free_port()
    started = time.monotonic()
    proc = s100k.start(a.bin, data_dir, port)
    result = {}
    try:
        s100k.wait_until(lambda: s100k.call(http.client.HTTPConnection("127.0.0.1", port, timeout=60),
                                            "GET", "/readyz")[0] == 200)
        # Without a vector snapshot the HNSW graph is built in the background (≈260 CPU-s at 100k): searches meanwhile
        # scan all vectors exactly, an upper bound on the steady state. --no-graph-wait measures in that state.
        waited = {} if a.no_graph_wait else s100k.wait_for_graph(proc, port, started)
        result["start"] = report("kaito_rag_start", {**waited, **s100k.index_kind(port)})
        bodies = retrieve_bodies(queries)
        result["retrieve"] = measure("kaito_rag_retrieve", proc.pid, port, "/retrieve", (bodies, bodies), a.clients,
                                     has_results)
        for mode in ("bm25", "dense", "hybrid"):
            bodies = [{"query": q, "mode": mode, "top_k": 10} for q in queries]
            result[f"search_{mode}"] = measure(f"kaito_rag_search_{mode}", proc.pid, port,
                                               f"/v1/collections/{NAME}/search", (bodies, bodies), a.clients,
                                               lambda answer, m=mode: isinstance(answer, dict) and answer.get("mode") == m)
        result["rss_mib_after"] = round(api.tree_rss_kb(proc.pid)[0] / 1024)
        result["index_after"] = s100k.index_kind(port)["index"]
    finally:
        s100k.stop(proc)
    return result


def table(results, clients):
    rows = ["| server, route | queries seq / conc | p50 / p99 sequential | "
            f"p50 / p99 at {clients} clients | q/s at {clients} clients | server CPU-s per query (seq) | errors |",
            "|---|---|---|---|---|---|---|"]

    def row(label, r):
        s, c = r["sequential"], r[f"{clients}_clients"]
        per_query = s["cpu"]["server_cpu_s"] / s["n"] if s["n"] else float("nan")
        rows.append(f"| {label} | {s['n']} / {c['n']} | {s['p50_ms']:,} / {s['p99_ms']:,} ms | {c['p50_ms']:,} / "
                    f"{c['p99_ms']:,} ms | {c['queries_per_s']} | {per_query:.3f} | {s['errors'] + c['errors']} |")

    if "ragengine" in results:
        row("KAITO RAGEngine v0.12.0 `/retrieve` (FAISS flat + BM25 rebuilt per query)", results["ragengine"]["retrieve"])
    kr = results.get("kaito_rag")
    if kr:
        row("Kaito-RAG `/retrieve` (hybrid)", kr["retrieve"])
        for mode in ("bm25", "dense", "hybrid"):
            row(f"Kaito-RAG `/v1/collections/big/search` {mode}", kr[f"search_{mode}"])
    return "\n".join(rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", os.path.join(ROOT, "build/release/src/kaito-rag")))
    ap.add_argument("--builder", default=os.path.join(ROOT, "build/release/bench/kr_startup_bench"))
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "r100k"), help="kept between runs (ignored by git)")
    ap.add_argument("--chunks", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=200, help="pubmedqa-dev questions for Kaito-RAG (each phase)")
    ap.add_argument("--re-queries", type=int, default=4, help="RAGEngine sequential /retrieve queries (the first N)")
    ap.add_argument("--re-conc-queries", type=int, default=8, help="RAGEngine concurrent /retrieve queries")
    ap.add_argument("--re-warmup", type=int, choices=(0, 1), default=0, help="RAGEngine: one untimed query first")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--no-graph-wait", action="store_true", help="measure Kaito-RAG before its HNSW graph is ready")
    ap.add_argument("--skip-ragengine", action="store_true")
    ap.add_argument("--skip-kaito-rag", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    with open(os.path.join(s100k.EVAL, "queries.jsonl")) as f:
        queries = [json.loads(line)["text"] for line in f][: a.queries]

    results_path = os.path.join(a.work, "results.json")
    results = {"chunks": a.chunks, "clients": a.clients, "queries": a.queries}
    data_dir = build_collection(a.builder, a.work, a.chunks)
    results["kaito_rag_build"] = json.load(open(os.path.join(a.work, "kr_build.json")))
    if not a.skip_ragengine:
        persist = build_ragengine_index(*export_chunks(data_dir, a.work), a.work)
        results["ragengine_index"] = json.load(open(persist + ".json"))
        results["ragengine"] = run_ragengine(persist, queries, a)
    if not a.skip_kaito_rag:
        results["kaito_rag"] = run_kaito_rag(data_dir, queries, a)
    # The two servers can be measured by separate runs (--skip-*): keep the other one's results.
    merged = json.load(open(results_path)) if os.path.exists(results_path) else {}
    merged.update(results)
    results = merged
    with open(results_path, "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(a.work, "table.md"), "w") as f:
        f.write(table(results, a.clients))
    print(table(results, a.clients))


if __name__ == "__main__":
    sys.exit(main())
