#!/usr/bin/env python3
"""Summarize a bench/ragengine_head_to_head.sh run: OUT/results.json and OUT/table.md.

Reads OUT/{ragengine,kaito-rag}/bench.json (../shared/bench/ragengine_api_bench.py bench), OUT/efficiency.json
(bench/ingest_efficiency.py) and OUT/load.jsonl, and states the ratios against issue 9's targets:
>= 2.5x RAGEngine's docs/s (fp32 encoder), >= 5x (int8), <= 1/5 of its peak RSS, ingest <= 1.3x the encoder alone.
Standard library only.  Usage: bench/head_to_head_report.py OUT
"""
import json
import os
import sys

SYSTEMS = (("ragengine", "KAITO RAGEngine v0.12.0 (FAISS)"), ("kaito-rag", "Kaito-RAG (local encoder, fp32)"),
           ("kaito-rag-int8", "Kaito-RAG (local encoder, int8)"))
# Issue 9's docs/s targets against RAGEngine, per encoder precision.
DOCS_PER_S_TARGET = {"kaito-rag": 2.5, "kaito-rag-int8": 5.0}


def load(path):
    # A part that was skipped or failed leaves no file or an empty one: its rows are left out.
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        return json.load(f)


def row(b):
    docs = b["ingest"]["docs_ok"]
    cpu = b["cpu_ingest"]["server_cpu_s"]
    return {"docs": docs, "docs_per_s": b["ingest"]["docs_per_s"], "ingest_server_cpu_s": cpu,
            "docs_per_server_cpu_s": docs / cpu if cpu else None,
            "seq_p50_ms": b["seq"]["p50_ms"], "seq_p99_ms": b["seq"]["p99_ms"],
            "conc_p50_ms": b["conc"]["p50_ms"], "conc_p99_ms": b["conc"]["p99_ms"],
            "conc_qps": b["conc"]["throughput_qps"], "ndcg10": b["quality"]["ndcg@10"],
            "rss_idle_mib": b["rss_idle_kb"] / 1024, "rss_peak_mib": b["rss_peak_total_kb"] / 1024,
            "load_before_ingest": b.get("load_before_ingest"), "load_after_conc": b.get("load_after_conc")}


def main(out):
    rows = {k: row(b) for k, _ in SYSTEMS if (b := load(os.path.join(out, k, "bench.json")))}
    res = {"systems": rows, "efficiency": load(os.path.join(out, "efficiency.json")), "ratios": {}}
    if os.path.exists(os.path.join(out, "load.jsonl")):
        with open(os.path.join(out, "load.jsonl")) as f:
            res["load"] = [json.loads(line) for line in f if line.strip()]
    if "ragengine" in rows:
        r = rows["ragengine"]
        for key, target in DOCS_PER_S_TARGET.items():
            if key in rows:
                k = rows[key]
                res["ratios"][key] = {
                    "docs_per_s": k["docs_per_s"] / r["docs_per_s"], "docs_per_s_target": target,
                    "docs_per_server_cpu_s": k["docs_per_server_cpu_s"] / r["docs_per_server_cpu_s"],
                    "peak_rss": k["rss_peak_mib"] / r["rss_peak_mib"], "peak_rss_target": 0.2,
                    "ndcg10_delta": k["ndcg10"] - r["ndcg10"]}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(res, f, indent=1)

    lines = ["| system | ingest docs/s | server CPU s (docs per CPU-s) | /retrieve p50 / p99 seq | p50 / p99 at 8 "
             "clients | nDCG@10 | RSS idle / peak | load avg before → after |", "|---|---|---|---|---|---|---|---|"]
    for key, name in SYSTEMS:
        if key in rows:
            x = rows[key]
            lines.append(f"| {name} | {x['docs_per_s']:.1f} | {x['ingest_server_cpu_s']:.1f} "
                         f"({x['docs_per_server_cpu_s']:.1f}) | {x['seq_p50_ms']:.1f} / {x['seq_p99_ms']:.1f} ms | "
                         f"{x['conc_p50_ms']:.1f} / {x['conc_p99_ms']:.1f} ms | {x['ndcg10']:.4f} | "
                         f"{x['rss_idle_mib']:.0f} / {x['rss_peak_mib']:.0f} MiB | "
                         f"{x['load_before_ingest']} → {x['load_after_conc']} |")
    for key, q in res["ratios"].items():
        lines.append(f"\nRatios ({dict(SYSTEMS)[key]} / RAGEngine): docs/s {q['docs_per_s']:.2f}× (target ≥ "
                     f"{q['docs_per_s_target']}×), docs per server CPU-s {q['docs_per_server_cpu_s']:.2f}×, peak RSS "
                     f"{q['peak_rss']:.3f} (target ≤ 0.2), nDCG@10 {q['ndcg10_delta']:+.4f}.")
    if e := res["efficiency"]:
        lines.append(f"\nPipeline efficiency ({e['docs']} passages): /index {e['index_wall_s']} s vs /v1/embeddings "
                     f"{e['encoder_wall_s']} s = {e['efficiency_wall']}× wall, {e['efficiency_cpu']}× server CPU "
                     f"(target ≤ 1.3×); load avg {e['loadavg_1m']:.1f}.")
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
