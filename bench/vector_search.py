#!/usr/bin/env python3
"""Dense retrieval: kaito-rag's VectorIndex vs faiss-cpu and hnswlib on the same vectors.

For each size it writes one float32 file (base vectors, then queries), runs
`kr_vector_bench --data FILE --json` on it, runs faiss (IndexFlatIP, IndexHNSWFlat)
and hnswlib (PyPI) on the same arrays in this process, and prints one table.

Everything is single-threaded (faiss.omp_set_num_threads(1), hnswlib num_threads=1,
OpenBLAS set to 1 thread by the C++ bench) and searches go one query at a time, as a
server answering one request does. HNSW parameters match: M=16, efConstruction=200,
efSearch=max(64, 2k). recall@k is against exact float32 inner-product search.

Data: normalized Gaussian clusters (n/100 topic centers, noise of the same norm as the
center) unless --npy gives real embeddings (an .npy of shape (n + queries, dim)).

    .venv-bench/bin/python bench/vector_search.py [--sizes 10000,100000] [--dim 384]
        [--queries 1000] [--k 10] [--bin build/release/bench/kr_vector_bench]
"""
import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time

import faiss
import hnswlib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def clustered(n, dim, seed):
    rng = np.random.default_rng(seed)
    clusters = max(10, n // 100)
    centers = rng.standard_normal((clusters, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    x = centers[rng.integers(0, clusters, n)]
    x += rng.standard_normal((n, dim), dtype=np.float32) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x, dtype=np.float32)


def percentiles(us):
    us = np.asarray(us)
    return float(np.percentile(us, 50)), float(np.percentile(us, 99))


def time_queries(search, queries):
    for q in queries[:20]:  # warm-up
        search(q[None, :])
    us, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        got = search(q[None, :])
        us.append((time.perf_counter() - t0) * 1e6)
        ids.append(got)
    return us, ids


def recall(got, truth):
    return float(np.mean([len(set(g) & set(t)) / len(t) for g, t in zip(got, truth)]))


def run_peers(base, queries, k, ef):
    n, dim = base.shape
    rows = []

    flat = faiss.IndexFlatIP(dim)
    t0 = time.perf_counter()
    flat.add(base)
    build = time.perf_counter() - t0
    us, truth = time_queries(lambda q: flat.search(q, k)[1][0].tolist(), queries)
    rows.append(dict(name="faiss IndexFlatIP", build_s=build, p50_us=percentiles(us)[0], p99_us=percentiles(us)[1],
                     recall=1.0, memory_mb=base.nbytes / 1e6))

    hnsw = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 200
    t0 = time.perf_counter()
    hnsw.add(base)
    build = time.perf_counter() - t0
    hnsw.hnsw.efSearch = ef
    us, got = time_queries(lambda q: hnsw.search(q, k)[1][0].tolist(), queries)
    p50, p99 = percentiles(us)
    rows.append(dict(name="faiss IndexHNSWFlat", build_s=build, p50_us=p50, p99_us=p99, recall=recall(got, truth),
                     memory_mb=None))

    index = hnswlib.Index(space="ip", dim=dim)
    index.init_index(max_elements=n, ef_construction=200, M=16, random_seed=100)
    index.set_num_threads(1)
    t0 = time.perf_counter()
    index.add_items(base, np.arange(n), num_threads=1)
    build = time.perf_counter() - t0
    index.set_ef(ef)
    us, got = time_queries(lambda q: index.knn_query(q, k=k, num_threads=1)[0][0].tolist(), queries)
    p50, p99 = percentiles(us)
    rows.append(dict(name=f"hnswlib {importlib.metadata.version('hnswlib')} (PyPI)",
                     build_s=build, p50_us=p50, p99_us=p99, recall=recall(got, truth), memory_mb=None))
    return rows, truth


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release", "bench", "kr_vector_bench"))
    ap.add_argument("--npy", help="real embeddings, shape (n + queries, dim), float32")
    ap.add_argument("--json", help="also write all rows to this file")
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"{args.bin} not found: build it (cmake --build --preset release --target kr_vector_bench) or pass --bin")
    faiss.omp_set_num_threads(1)
    ef = max(64, 2 * args.k)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start; "
          f"faiss {faiss.__version__}, numpy {np.__version__}; single-threaded, one query per search", flush=True)

    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        if args.npy:
            data = np.load(args.npy, mmap_mode="r")[: n + args.queries]
            data = np.ascontiguousarray(data, dtype=np.float32)
            if data.shape[0] < n + args.queries:
                sys.exit(f"{args.npy} has {data.shape[0]} rows, need {n + args.queries}")
            data /= np.linalg.norm(data, axis=1, keepdims=True)
            source = os.path.basename(args.npy)
        else:
            data = clustered(n + args.queries, args.dim, seed=n)
            source = "normalized Gaussian clusters"
        dim = data.shape[1]
        base, queries = data[:n], data[n:]
        with tempfile.NamedTemporaryFile(suffix=".f32", delete=False) as f:
            data.tofile(f)
            path = f.name
        try:
            t0 = time.perf_counter()
            out = subprocess.run([args.bin, "--data", path, "--n", str(n), "--dim", str(dim), "--queries",
                                  str(args.queries), "--k", str(args.k), "--json"],
                                 check=True, capture_output=True, text=True)
            ours = json.loads(out.stdout)["rows"]
            print(f"n={n}: kaito-rag bench {time.perf_counter() - t0:.0f} s", flush=True)
        finally:
            os.unlink(path)
        t0 = time.perf_counter()
        peers, _ = run_peers(base, queries, args.k, ef)
        print(f"n={n}: peers {time.perf_counter() - t0:.0f} s", flush=True)
        results.append(dict(n=n, dim=dim, source=source, rows=ours + peers))

    # One table; ratio = kaito-rag / peer at the same job (exact vs faiss flat, HNSW vs each HNSW).
    print()
    print(f"dim={results[0]['dim']}, queries={args.queries}, k={args.k}, efSearch={ef}, data: {results[0]['source']}")
    header = f"{'n':>7} {'index':<30} {'build s':>8} {'p50 us':>9} {'p99 us':>9} {'recall@' + str(args.k):>9} " \
             f"{'mem MB':>7}  {'ours/peer p50':>13} {'ours/peer build':>15}"
    print(header)
    print("-" * len(header))
    for r in results:
        by = {row["name"]: row for row in r["rows"]}
        ours_exact, ours_hnsw = by["kaito-rag exact"], by["kaito-rag hnsw"]
        for row in r["rows"]:
            ratio_p50 = ratio_build = ""
            peer_of = ours_exact if row["name"] == "faiss IndexFlatIP" else (
                ours_hnsw if row["name"].startswith(("faiss IndexHNSW", "hnswlib")) else None)
            if peer_of is not None:
                ratio_p50 = f"{peer_of['p50_us'] / row['p50_us']:.2f}"
                if row["build_s"] > 0.01:
                    ratio_build = f"{peer_of['build_s'] / row['build_s']:.2f}"
            mem = f"{row['memory_mb']:.0f}" if row.get("memory_mb") else ""
            print(f"{r['n']:>7} {row['name']:<30} {row['build_s']:>8.2f} {row['p50_us']:>9.1f} {row['p99_us']:>9.1f} "
                  f"{row['recall']:>9.4f} {mem:>7}  {ratio_p50:>13} {ratio_build:>15}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 cores; other builds may share the machine)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
