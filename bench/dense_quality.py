#!/usr/bin/env python3
"""Dense retrieval quality: sentence-transformers + FAISS vs Kaito-RAG's dense, hybrid and BM25 modes.

    HF_HUB_OFFLINE=1 .venv-bench/bin/python bench/dense_quality.py [--beir ../shared/eval/pubmedqa-dev] [--json]

One table, same BEIR folder, same metric code as bm25_quality.py (nDCG@10, Recall@5/10/100, MRR@10):
  bm25s                    bm25s (lucene, k1 1.2, b 0.75, Snowball English, English stop words)
  kaito-rag eval bm25      `kaito-rag eval --beir DIR --mode bm25 --json`
  sentence-transformers    all-MiniLM-L6-v2 (mean pooling, normalized, no prefix) + faiss IndexFlatIP,
                           exact top-100; documents are title + "\\n\\n" + text (text alone when the
                           title is empty) as in bm25_quality.py, queries as they are. The corpus
                           embeddings are cached in ~/.cache/kaito-rag/bench/dense/.
  kaito-rag eval dense     `kaito-rag --embedding-model MODEL eval --beir DIR --mode dense --json`
  kaito-rag eval hybrid    the same with --mode hybrid
(the option is tried before and after `eval`, then as KAITO_RAG_EMBEDDING_MODEL). The kaito-rag rows
are skipped, with the error printed, while the binary cannot do them.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bm25_quality import load, run_bm25s, score  # noqa: E402  (same data loading and metrics)

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "kaito-rag" / "bench" / "dense"
DEFAULT_MODEL = Path.home() / ".cache" / "kaito-rag" / "models" / "all-MiniLM-L6-v2"
EMBED_FLAG = "--embedding-model"  # the kaito-rag option that points at the encoder folder
EMBED_ENV = "KAITO_RAG_EMBEDDING_MODEL"  # ... and its environment variable


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def doc_text(d: dict) -> str:
    return (d.get("title") + "\n\n" + d["text"]) if d.get("title") else d["text"]


def run_st_faiss(beir: Path, model_dir: Path, corpus, queries, relevant, batch_size: int, threads: int):
    import faiss
    import numpy as np
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    st = SentenceTransformer(str(model_dir), device="cpu")
    texts = [doc_text(d) for d in corpus]
    ids = [d["_id"] for d in corpus]
    h = hashlib.sha256()
    h.update((beir / "corpus.jsonl").read_bytes())
    h.update(str((model_dir / "model.safetensors").stat().st_size).encode())
    h.update(f"{st.max_seq_length}|{sentence_transformers.__version__}".encode())
    cache = CACHE / f"{beir.name}-{model_dir.name}-{h.hexdigest()[:16]}.npy"
    started = time.perf_counter()
    if cache.exists():
        emb = np.load(cache)
        log(f"corpus embeddings from {cache}")
        embed_s = None
    else:
        log(f"embedding {len(texts)} passages with sentence-transformers ...")
        emb = st.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                        show_progress_bar=False).astype(np.float32)
        embed_s = time.perf_counter() - started
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(cache, emb)
    index = faiss.IndexFlatIP(emb.shape[1])
    index.add(emb)
    index_s = time.perf_counter() - started
    qids = [q for q in relevant if q in queries]
    started = time.perf_counter()
    qemb = st.encode([queries[q] for q in qids], batch_size=batch_size, normalize_embeddings=True,
                     convert_to_numpy=True, show_progress_bar=False).astype(np.float32)
    _, found = index.search(qemb, 100)
    query_s = time.perf_counter() - started
    run = {q: [ids[j] for j in found[i] if j >= 0] for i, q in enumerate(qids)}
    extra = {"corpus_embed_seconds": embed_s, "max_seq_length": st.max_seq_length,
             "versions": f"sentence-transformers {sentence_transformers.__version__}, faiss {faiss.__version__}"}
    return score(run, relevant), index_s, query_s, extra


def run_kaito(binary: str, beir: Path, mode: str, model_dir: Path | None):
    """(metrics, ingest s, query s, None) or raises RuntimeError with the error text."""
    base = [binary, "eval", "--beir", str(beir), "--mode", mode, "--json"]
    # The option may be global (like every config option) or eval's own; the config's environment
    # variable is the last resort.
    attempts = [(base, None)] if model_dir is None else [
        ([binary, EMBED_FLAG, str(model_dir)] + base[1:], None),
        (base + [EMBED_FLAG, str(model_dir)], None),
        (base, {EMBED_ENV: str(model_dir)})]
    errors = []
    for cmd, env in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
        if env:
            cmd = [f"{k}={v}" for k, v in env.items()] + cmd
        if proc.returncode == 0:
            out = json.loads(proc.stdout)
            metrics = dict(ndcg10=out["ndcg@10"], r5=out["recall@5"], r10=out["recall@10"],
                           r100=out["recall@100"], mrr10=out["mrr@10"])
            return metrics, out.get("ingest_seconds"), out.get("query_seconds"), {"command": " ".join(cmd)}
        errors.append(f"`{' '.join(cmd)}` exit {proc.returncode}: "
                      + next((l for l in proc.stderr.splitlines()
                              if l.strip() and not l.startswith(("Run with --help", "Evaluating", "ingest ", "query "))),
                             "(no message)"))
        if "not expected" not in proc.stderr and "unrecognized" not in proc.stderr.lower():
            break  # the flag was understood; the failure is real
    raise RuntimeError("; ".join(errors))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--beir", type=Path, default=REPO.parent / "shared" / "eval" / "pubmedqa-dev")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--binary", default=str(REPO / "build" / "release" / "src" / "kaito-rag"))
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args()
    if not args.beir.exists():
        sys.exit(f"no BEIR folder at {args.beir}")
    if not (args.model / "model.safetensors").exists():
        sys.exit(f"no model at {args.model}: run scripts/fetch_models.sh")
    corpus, queries, relevant = load(args.beir)

    rows, notes = [], []

    def add(name, fn):
        log(f"{name} ...")
        try:
            m, index_s, query_s, extra = fn()
            rows.append({"system": name, **m, "index_s": index_s, "query_s": query_s, **(extra or {})})
        except (RuntimeError, FileNotFoundError, subprocess.SubprocessError) as err:
            notes.append(f"{name} skipped: {err}")

    add("bm25s 0.2.14 (lucene)", lambda: (*run_bm25s(corpus, queries, relevant, 1.2, 0.75), None))
    add("kaito-rag eval bm25", lambda: run_kaito(args.binary, args.beir, "bm25", None))
    add(f"sentence-transformers {args.model.name} + faiss flat IP",
        lambda: run_st_faiss(args.beir, args.model, corpus, queries, relevant, args.batch_size, args.threads))
    add("kaito-rag eval dense", lambda: run_kaito(args.binary, args.beir, "dense", args.model))
    add("kaito-rag eval hybrid", lambda: run_kaito(args.binary, args.beir, "hybrid", args.model))

    if args.json:
        print(json.dumps({"beir": str(args.beir), "passages": len(corpus), "queries": len(relevant),
                          "model": str(args.model), "rows": rows, "notes": notes}, indent=2))
        return
    print(f"{args.beir.name}: {len(corpus)} passages, {len(relevant)} queries; dense model {args.model.name}\n")
    print("| system | nDCG@10 | Recall@5 | Recall@10 | Recall@100 | MRR@10 | index s | queries s |")
    print("|---|---|---|---|---|---|---|---|")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        print(f"| {r['system']} | {r['ndcg10']:.4f} | {r['r5']:.4f} | {r['r10']:.4f} | {r['r100']:.4f} "
              f"| {r['mrr10']:.4f} | {fmt(r['index_s'], '.1f')} | {fmt(r['query_s'], '.2f')} |")
    for r in rows:
        if r.get("versions"):
            emb = r.get("corpus_embed_seconds")
            print(f"\n{r['system']}: {r['versions']}, max_seq_length {r['max_seq_length']}; index s = "
                  + ("corpus embedding (cached)" if emb is None else f"{emb:.1f}s corpus embedding")
                  + " + faiss add")
    for n in notes:
        print(f"\n- {n}")


if __name__ == "__main__":
    main()
