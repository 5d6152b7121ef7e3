#!/usr/bin/env python3
"""Retrieval quality of each encoder precision against fp32, on one BEIR folder, in one run.

    python3 bench/encoder_precision_quality.py [--bin build/release/src/kaito-rag]
        [--beir ../shared/eval/pubmedqa-dev] [--model ~/.cache/kaito-rag/models/all-MiniLM-L6-v2]
        [--precisions fp32,int8,bf16] [--json]

Runs `kaito-rag --embedding-model MODEL --encoder-precision P eval --beir DIR --mode dense --json`
for each precision (dense mode: the encoder alone decides the ranking) and prints nDCG@10,
Recall@10, MRR@10, the difference to fp32 and whether it is within the issue's bound (0.005
nDCG@10). Exits 1 when a precision is out of bounds, so it can gate a release; standard library only.
A precision this CPU cannot run (self-test fails) is reported as such, not as a failure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BOUND = 0.005  # |nDCG@10(precision) - nDCG@10(fp32)| at most


def run(binary: Path, model: Path, beir: Path, precision: str) -> dict:
    cmd = [str(binary), "--embedding-model", str(model), "--encoder-precision", precision,
           "eval", "--beir", str(beir), "--mode", "dense", "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAITO_RAG_")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"precision": precision, "error": proc.stderr.strip().splitlines()[-1:] or ["(no message)"]}
    out = json.loads(proc.stdout)
    return {"precision": precision, "ndcg10": out["ndcg@10"], "r10": out["recall@10"],
            "mrr10": out["mrr@10"], "ingest_seconds": out.get("ingest_seconds"), "command": " ".join(cmd)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", type=Path, default=REPO / "build" / "release" / "src" / "kaito-rag")
    p.add_argument("--beir", type=Path, default=REPO.parent / "shared" / "eval" / "pubmedqa-dev")
    p.add_argument("--model", type=Path,
                   default=Path.home() / ".cache" / "kaito-rag" / "models" / "all-MiniLM-L6-v2")
    p.add_argument("--precisions", default="fp32,int8,bf16")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    precisions = args.precisions.split(",")
    if precisions[0] != "fp32":
        precisions.insert(0, "fp32")
    rows = [run(args.bin, args.model, args.beir, precision) for precision in precisions]
    reference = rows[0]
    if "error" in reference:
        print(f"fp32 run failed: {reference['error']}", file=sys.stderr)
        return 2
    failed = False
    for row in rows:
        if "error" in row:
            row["verdict"] = "cannot run here"
            continue
        row["delta_ndcg10"] = row["ndcg10"] - reference["ndcg10"]
        within = abs(row["delta_ndcg10"]) <= BOUND
        row["verdict"] = "ok" if within else "OUT OF BOUND"
        failed |= not within
    if args.json:
        print(json.dumps({"beir": str(args.beir), "bound": BOUND, "rows": rows}, indent=2))
    else:
        print(f"{args.beir.name}, dense mode, bound |Δ nDCG@10| <= {BOUND}")
        print("| precision | nDCG@10 | Δ vs fp32 | Recall@10 | MRR@10 | ingest s | verdict |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            if "error" in r:
                print(f"| {r['precision']} | – | – | – | – | – | cannot run here: {r['error'][0]} |")
                continue
            print(f"| {r['precision']} | {r['ndcg10']:.4f} | {r['delta_ndcg10']:+.4f} | {r['r10']:.4f} "
                  f"| {r['mrr10']:.4f} | {r['ingest_seconds'] or 0:.1f} | {r['verdict']} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
