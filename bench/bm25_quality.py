#!/usr/bin/env python3
"""BM25 quality: Kaito-RAG's own index vs bm25s on the same BEIR folder, same parameters.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/bm25_quality.py [--beir ../shared/eval/pubmedqa-dev] [--k1 1.2 --b 0.75]

Both sides: English Snowball stemming, bm25s' English stop words, Lucene idf, passages as documents
(title + text). Kaito-RAG runs through `kaito-rag eval --beir … --json`, the product's own command.
Metrics follow ../shared/eval/README.md (nDCG@10, Recall@5/10/100, MRR@10, mean over queries).
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import bm25s
import Stemmer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from beir_metrics import load, score  # noqa: E402  (dense_quality.py imports them from here too)


def run_bm25s(corpus, queries, relevant, k1, b):
    stemmer = Stemmer.Stemmer("english")
    texts = [(d.get("title") + "\n\n" + d["text"]) if d.get("title") else d["text"] for d in corpus]
    ids = [d["_id"] for d in corpus]
    started = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
    retriever.index(tokens, show_progress=False)
    index_s = time.perf_counter() - started
    qids = [q for q in relevant if q in queries]
    started = time.perf_counter()
    qtokens = bm25s.tokenize([queries[q] for q in qids], stopwords="en", stemmer=stemmer, show_progress=False)
    results, _ = retriever.retrieve(qtokens, k=100, show_progress=False)
    query_s = time.perf_counter() - started
    run = {q: [ids[j] for j in results[i]] for i, q in enumerate(qids)}
    return score(run, relevant), index_s, query_s


def run_kaito(beir, k1, b, binary):
    proc = subprocess.run([binary, "eval", "--beir", str(beir), "--json", "--bm25-k1", str(k1), "--bm25-b", str(b)],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    metrics = dict(ndcg10=out["ndcg@10"], r5=out["recall@5"], r10=out["recall@10"], r100=out["recall@100"],
                   mrr10=out["mrr@10"])
    return metrics, out["ingest_seconds"], out["query_seconds"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beir", type=Path, default=REPO.parent / "shared" / "eval" / "pubmedqa-dev")
    p.add_argument("--binary", default=str(REPO / "build" / "release" / "src" / "kaito-rag"))
    p.add_argument("--k1", type=float, action="append")
    p.add_argument("--b", type=float, action="append")
    args = p.parse_args()
    if not args.beir.exists():
        sys.exit(f"no BEIR folder at {args.beir}")
    settings = list(zip(args.k1 or [1.2, 0.9], args.b or [0.75, 0.4]))
    corpus, queries, relevant = load(args.beir)
    print(f"{args.beir.name}: {len(corpus)} passages, {len(relevant)} queries\n")
    print("| system | k1 | b | nDCG@10 | Recall@5 | Recall@10 | Recall@100 | MRR@10 | index s | 500 queries s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k1, b in settings:
        for name, (m, index_s, query_s) in (("bm25s 0.2.14 (lucene)", run_bm25s(corpus, queries, relevant, k1, b)),
                                            ("kaito-rag eval", run_kaito(args.beir, k1, b, args.binary))):
            print(f"| {name} | {k1} | {b} | {m['ndcg10']:.4f} | {m['r5']:.4f} | {m['r10']:.4f} | {m['r100']:.4f} "
                  f"| {m['mrr10']:.4f} | {index_s:.1f} | {query_s:.2f} |")


if __name__ == "__main__":
    main()
