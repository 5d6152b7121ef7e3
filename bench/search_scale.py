#!/usr/bin/env python3
"""The scale curve: one collection at 10k / 100k / 1M chunks, our search beside its peers.

    .venv-bench/bin/python bench/search_scale.py [--sizes 10000,100000] [--work .benchdata]
        [--queries 500] [--peers fts5,bm25s,hnswlib,faiss] [--peer-max 100000]

Per size:
1. Corpus: `kr_startup_bench --build` writes the collection straight through the store (no
   encoder): the 3,358 pubmedqa-dev passages, then generated chunks (a passage's sentences
   shuffled, plus one sentence of another passage and a unique token), 4 chunks per document,
   each with a RANDOM unit 384-d vector under the local MiniLM's model id. Dense latency and
   recall are therefore those of random vectors (harder for HNSW than real embeddings), and
   dense relevance means nothing. Reused from WORK/d<size> when it exists (1M builds are heavy).
   "Ingest" here is the store write rate without the encoder; the encoder's rate is in
   BENCHMARKS.md (head-to-head) and dominates real ingest.
2. `kr_search_bench` opens it twice (the first open may build the HNSW graph and save the
   snapshot; the second loads it): size on disk, open time, RSS, then in-process
   Collection::search p50/p99 per mode (no HTTP, no query embedding: the server-side part of
   a search), hybrid with and without the parallel dense side, the hit-row read with and
   without a kept statement, and dense recall@10 against an exact scan.
3. Peers on the same texts and vectors, read back from the collection's SQLite file, one query
   at a time, one thread: SQLite FTS5 (porter + unicode61, bm25(), OR of the query's words),
   bm25s (Snowball English, stop words, Lucene idf), hnswlib and faiss IndexHNSWFlat (M 16,
   efConstruction 200, efSearch 64, as our index). Query vectors for the peers are random unit
   vectors from the same distribution as ours (not the same draws). Skipped above --peer-max
   chunks (say so in the results).
Writes WORK/scale.json and prints a markdown table.
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.environ.get("KR_EVAL_DIR", os.path.join(ROOT, "..", "shared", "eval", "pubmedqa-dev"))
MODEL_ID = "all-MiniLM-L6-v2"
K = 10


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else 0.0


def summary(wall_ms, cpu_ms):
    return {"wall_p50_ms": pct(wall_ms, 0.5), "wall_p99_ms": pct(wall_ms, 0.99),
            "cpu_p50_ms": pct(cpu_ms, 0.5), "cpu_p99_ms": pct(cpu_ms, 0.99)}


def timed(queries, run):
    """Runs run(i) per query after one untimed warm-up pass; wall and this thread's CPU ms."""
    for i in range(len(queries)):
        run(i)
    wall, cpu = [], []
    for i in range(len(queries)):
        w0, c0 = time.perf_counter(), time.thread_time()
        run(i)
        cpu.append((time.thread_time() - c0) * 1e3)
        wall.append((time.perf_counter() - w0) * 1e3)
    return summary(wall, cpu)


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)
               if os.path.isfile(os.path.join(path, f)))


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build(builder, work, size):
    data = os.path.join(work, f"d{size}")
    collection = os.path.join(data, "collections", "big")
    record = data + ".build.json"
    if not os.path.isdir(collection):
        os.makedirs(data, exist_ok=True)
        out = subprocess.run(["nice", builder, "--build", data, "big", str(size),
                              os.path.join(EVAL, "corpus.jsonl"), MODEL_ID], check=True, capture_output=True, text=True)
        with open(record, "w") as f:
            f.write(out.stdout)
    with open(record) as f:
        built = json.loads(f.read().strip().splitlines()[-1])
    built["store_write_chunks_per_s"] = built["chunks"] / built["write_s"]
    return collection, built


def ours(bench, collection, queries, n):
    runs = []
    for _ in range(2):  # first: may build the graph and save the snapshot; second: loads it
        out = subprocess.run([bench, collection, queries, str(n), str(K)] + ([] if runs else ["--no-recall"]),
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = runs[1]
    result["first_open"] = {k: runs[0][k] for k in ("open_s", "graph_ready_s", "open_cpu_s", "opened_with_snapshot")}
    return result


def read_corpus(collection):
    db = sqlite3.connect(f"file:{collection}/collection.db?mode=ro", uri=True)
    texts = [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY id")]
    blobs = db.execute("SELECT vector FROM chunk_vectors ORDER BY chunk_id").fetchall()
    vectors = np.frombuffer(b"".join(row[0] for row in blobs), dtype=np.float32).reshape(len(blobs), -1)
    db.close()
    return texts, vectors


def fts5(texts, questions):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fts.db")
        db = sqlite3.connect(path)
        db.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61')")
        started = time.perf_counter()
        db.executemany("INSERT INTO f(text) VALUES (?)", ((t,) for t in texts))
        db.commit()
        build_s = time.perf_counter() - started
        size = os.path.getsize(path)
        matches = [" OR ".join('"' + w + '"' for w in re.findall(r"\w{2,}", q.lower())) for q in questions]
        sql = "SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10"
        result = timed(questions, lambda i: db.execute(sql, (matches[i],)).fetchall())
        db.close()
    result.update(build_s=build_s, disk_bytes=size)
    return result


def bm25s_peer(texts, questions):
    import bm25s
    import Stemmer
    stemmer = Stemmer.Stemmer("english")
    before = rss_mib()
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False), show_progress=False)
    build_s = time.perf_counter() - started
    tokens = [bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False) for q in questions]
    result = timed(questions, lambda i: retriever.retrieve(tokens[i], k=K, show_progress=False, n_threads=1))
    result.update(build_s=build_s, rss_growth_mib=rss_mib() - before)
    return result


def exact_top(vectors, queries):
    return np.argsort(-(queries @ vectors.T), axis=1)[:, :K]


def vector_peers(vectors, names, n_queries):
    rng = np.random.default_rng(11)
    q = rng.standard_normal((n_queries, vectors.shape[1]), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    truth = exact_top(vectors, q[:200])
    out = {}
    if "hnswlib" in names:
        import hnswlib
        index = hnswlib.Index(space="ip", dim=vectors.shape[1])
        started = time.perf_counter()
        index.init_index(max_elements=len(vectors), ef_construction=200, M=16, random_seed=100)
        index.add_items(vectors, np.arange(len(vectors)), num_threads=1)
        build_s = time.perf_counter() - started
        index.set_ef(64)
        index.set_num_threads(1)
        r = timed(q, lambda i: index.knn_query(q[i:i + 1], k=K))
        found = [index.knn_query(q[i:i + 1], k=K)[0][0] for i in range(len(truth))]
        r.update(build_s=build_s, recall_at_10=float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])))
        out["hnswlib"] = r
    if "faiss" in names:
        import faiss
        faiss.omp_set_num_threads(1)
        index = faiss.IndexHNSWFlat(vectors.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 200
        started = time.perf_counter()
        index.add(vectors)
        build_s = time.perf_counter() - started
        index.hnsw.efSearch = 64
        r = timed(q, lambda i: index.search(q[i:i + 1], K))
        found = [index.search(q[i:i + 1], K)[1][0] for i in range(len(truth))]
        r.update(build_s=build_s, recall_at_10=float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])))
        out["faiss_hnsw"] = r
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--work", default=os.path.join(ROOT, ".benchdata"))
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--peers", default="fts5,bm25s,hnswlib,faiss")
    ap.add_argument("--peer-max", type=int, default=100000, help="largest size the peers run at")
    ap.add_argument("--builder", default=os.path.join(ROOT, "build/release/bench/kr_startup_bench"))
    ap.add_argument("--bench", default=os.path.join(ROOT, "build/release/bench/kr_search_bench"))
    a = ap.parse_args()
    peers = [p for p in a.peers.split(",") if p]
    queries_path = os.path.join(EVAL, "queries.jsonl")
    with open(queries_path) as f:
        questions = [json.loads(line)["text"] for line in f][:a.queries]
    results = {"load_average_start": os.getloadavg(), "sizes": {}}
    for size in [int(s) for s in a.sizes.split(",")]:
        collection, built = build(a.builder, a.work, size)
        entry = {"build": built, "ours": ours(a.bench, collection, queries_path, a.queries)}
        print(json.dumps({"size": size, "ours": entry["ours"]}), flush=True)
        if peers and size <= a.peer_max:
            texts, vectors = read_corpus(collection)
            if "fts5" in peers:
                entry["fts5"] = fts5(texts, questions)
            if "bm25s" in peers:
                entry["bm25s"] = bm25s_peer(texts, questions)
            entry.update(vector_peers(vectors, peers, a.queries))
            print(json.dumps({"size": size, "peers": {k: v for k, v in entry.items() if k not in ("ours", "build")}}),
                  flush=True)
        else:
            entry["peers_skipped"] = f"peers run up to {a.peer_max} chunks"
        entry["load_average_end"] = os.getloadavg()
        results["sizes"][str(size)] = entry
        with open(os.path.join(a.work, "scale.json"), "w") as f:
            json.dump(results, f, indent=1)
    print_table(results)


def print_table(results):
    print("| chunks | system | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | other |")
    print("|---|---|---|---|---|---|---|")
    for size, e in results["sizes"].items():
        o = e["ours"]
        for mode, label in (("bm25", "Kaito-RAG bm25"), ("dense", "Kaito-RAG dense"),
                            ("hybrid_sequential", "Kaito-RAG hybrid, one thread"),
                            ("hybrid_parallel", "Kaito-RAG hybrid, dense side on a helper")):
            s = o["search"][mode]
            extra = f"recall@10 {o.get('dense_recall_at_k', 0):.4f}" if mode == "dense" else ""
            print(f"| {size} | {label} | {s['wall_p50_ms']:.3f} | {s['wall_p99_ms']:.3f} | {s['cpu_p50_ms']:.3f} | "
                  f"{s['cpu_p99_ms']:.3f} | {extra} |")
        for name in ("fts5", "bm25s", "hnswlib", "faiss_hnsw"):
            if name in e:
                s = e[name]
                extra = f"build {s['build_s']:.1f} s" + (f", recall@10 {s['recall_at_10']:.4f}" if "recall_at_10" in s else "")
                print(f"| {size} | {name} | {s['wall_p50_ms']:.3f} | {s['wall_p99_ms']:.3f} | {s['cpu_p50_ms']:.3f} | "
                      f"{s['cpu_p99_ms']:.3f} | {extra} |")


if __name__ == "__main__":
    sys.exit(main())
