#!/usr/bin/env python3
"""Pipeline efficiency: ingest through the RAGEngine API vs the encoder alone, same run, same texts.

Starts kaito-rag (KR_BIN or --bin) with the local all-MiniLM-L6-v2 on a fresh data directory, then:
  1. /v1/embeddings for the first N pubmedqa-dev passages, batches of 64 (the encoder alone);
  2. POST /index of the same passages, batches of 50 (parse, chunk, analyze, embed, commit);
  3. optionally (--all) every passage of the corpus through /index into another index: docs/s.
Reports wall seconds and the server's CPU seconds per phase (from /proc, independent of other
load on the machine) and their ratios. Standard library only.

  bench/ingest_efficiency.py --bin build/release/src/kaito-rag [--docs 1000] [--all]
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVAL = os.environ.get("KR_EVAL_DIR", os.path.join(ROOT, "..", "shared", "eval", "pubmedqa-dev"))
MODEL = os.path.join(os.environ.get("KAITO_RAG_MODEL_CACHE", os.path.expanduser("~/.cache/kaito-rag/models")),
                     "all-MiniLM-L6-v2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def cpu_seconds(pid):
    # utime + stime of the server and its reaped children (parse workers), in clock ticks.
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def phase(pid, run):
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    run()
    return time.perf_counter() - t0, cpu_seconds(pid) - cpu0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("KR_BIN", os.path.join(ROOT, "build/release/src/kaito-rag")))
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--all", action="store_true", help="also ingest the whole corpus and report docs/s")
    ap.add_argument("--threads", type=int, default=0, help="embedding_threads (0: all cores)")
    a = ap.parse_args()

    with open(os.path.join(EVAL, "corpus.jsonl")) as f:
        corpus = [json.loads(line) for line in f]
    texts = [d["text"] for d in corpus[: a.docs]]
    data_dir = tempfile.mkdtemp(prefix="kr_eff_")
    port = free_port()
    env = dict(os.environ, KAITO_RAG_DATA_DIR=data_dir, KAITO_RAG_PORT=str(port), KAITO_RAG_HOST="127.0.0.1",
               KAITO_RAG_EMBEDDING_MODEL=MODEL, KAITO_RAG_EMBEDDING_THREADS=str(a.threads), KAITO_RAG_LOG_LEVEL="warn")
    server = subprocess.Popen([a.bin, "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        post(base + "/v1/embeddings", {"input": texts[:64]})  # warm-up: pages of the model mapped in

        def embeddings():
            for i in range(0, len(texts), 64):
                out = post(base + "/v1/embeddings", {"input": texts[i:i + 64]})
                assert len(out["data"]) == len(texts[i:i + 64])

        def index(name, passages):
            def run():
                for i in range(0, len(passages), 50):
                    batch = [{"text": d["text"], "metadata": {"id": d["_id"]}} for d in passages[i:i + 50]]
                    assert len(post(base + "/index", {"index_name": name, "documents": batch})) == len(batch)
            return run

        enc_wall, enc_cpu = phase(server.pid, embeddings)
        idx_wall, idx_cpu = phase(server.pid, index("efficiency", corpus[: a.docs]))
        result = {"docs": len(texts), "encoder_wall_s": round(enc_wall, 2), "encoder_cpu_s": round(enc_cpu, 2),
                  "index_wall_s": round(idx_wall, 2), "index_cpu_s": round(idx_cpu, 2),
                  "efficiency_wall": round(idx_wall / enc_wall, 3), "efficiency_cpu": round(idx_cpu / enc_cpu, 3),
                  "loadavg_1m": os.getloadavg()[0]}
        if a.all:
            all_wall, all_cpu = phase(server.pid, index("all", corpus))
            result.update({"all_docs": len(corpus), "all_wall_s": round(all_wall, 2), "all_cpu_s": round(all_cpu, 2),
                           "all_docs_per_s": round(len(corpus) / all_wall, 1),
                           "all_docs_per_cpu_s": round(len(corpus) / all_cpu, 1)})
        print(json.dumps(result))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        subprocess.run(["rm", "-rf", data_dir])


if __name__ == "__main__":
    sys.exit(main())
