#!/usr/bin/env python3
"""Sentence-encoder speed: Kaito-RAG's C++ encoder vs sentence-transformers (PyTorch) and ONNX Runtime.

    HF_HUB_OFFLINE=1 .venv-bench/bin/python bench/encoder_speed.py [--threads 1 2] [--seq-lens 128 512] [--json]

Same model (all-MiniLM-L6-v2 folder), same texts, batch size 32, every passage truncated to exactly
N tokens ([CLS] and [SEP] included; the texts are PubMedQA passages glued together until they are
longer than N). Each peer x threads x N runs in its own process: it loads the model, encodes one
batch as warm-up, then times --repeat passes over all passages (tokenization included). Peak memory
is the child's ru_maxrss (os.wait4), so model load and library import count.

Peers:
  pytorch  sentence-transformers on torch (torch.set_num_threads(T), max_seq_length=N).
  ort      ONNX Runtime fp32 (intra_op_num_threads=T): the HF BertModel exported once with
           torch.onnx.export to ~/.cache/kaito-rag/bench/onnx/ (dynamic batch and sequence axes),
           tokenized with `tokenizers`, mean pooling + L2 normalization in numpy. Before any timing,
           its embeddings are checked against PyTorch (cosine > 0.9999 on every test passage).
  ours     build/release/bench/kr_encoder_bench --model DIR --texts FILE.jsonl --threads T
           --batch-size B --max-tokens N --repeat R --json, which prints one JSON object
           {"passages", "tokens", "seconds", "passages_per_s", "tokens_per_s", "peak_rss_mb"}
           (it is expected to warm up once itself). Skipped with a message while it does not exist.
  ours-int8, ours-bf16  the same binary with --precision int8 / bf16 (its reduced-precision paths;
           a path this CPU cannot run fails with the self-test's reason in the notes). `ours` is fp32.
  ours-ref, ours-int8-ref  the same with --attention reference (the SGEMM attention the fused
           kernel replaced): before/after in one run.
  ort-int8 ONNX Runtime's dynamic int8 quantization (onnxruntime.quantization.quantize_dynamic,
           QInt8 weights) of the exported model, checked against PyTorch like ort (reported, bound 0.99).
  sgemm    build/release/bench/kr_sgemm_peak --threads T: OpenBLAS SGEMM GFLOP/s in the same run;
           "allowed" = that peak / the model's FLOPs per passage (the fp32 ceiling of any encoder).
Every row carries cpu_seconds of the timed passes (the binary's getrusage, the Python peers'
time.process_time()) and passages_per_cpu_s: on a loaded machine those, and same-run ratios, hold.
Peers come from the bench venv: bash bench/setup_venv.sh (KR_BENCH_BASE_VENV=DIR reuses a venv
that already has torch), then .venv-bench/bin/python bench/encoder_speed.py.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "kaito-rag" / "bench"
DEFAULT_MODEL = Path.home() / ".cache" / "kaito-rag" / "models" / "all-MiniLM-L6-v2"
DEFAULT_BINARY = REPO / "build" / "release" / "bench" / "kr_encoder_bench"
DEFAULT_SGEMM = REPO / "build" / "release" / "bench" / "kr_sgemm_peak"
DEFAULT_BEIR = REPO.parent / "shared" / "eval" / "pubmedqa-dev"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------------------------------

def source_passages(beir: Path) -> list[str]:
    if (beir / "corpus.jsonl").exists():
        with (beir / "corpus.jsonl").open(encoding="utf-8") as f:
            return [json.loads(l)["text"] for l in f if l.strip()]
    text = (REPO / "samples" / "handbook" / "employee-handbook.md").read_text(encoding="utf-8")
    return [p.strip() for p in text.split("\n\n") if len(p.strip()) > 40]


def make_texts(model: Path, beir: Path, seq_len: int, n: int) -> Path:
    """n texts that each tokenize to more than seq_len tokens, written as JSONL (cached)."""
    from tokenizers import Tokenizer

    out = CACHE / "encoder_speed" / f"texts_{seq_len}_{n}.jsonl"
    if out.exists():
        return out
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    rng = random.Random(seq_len)
    pool = source_passages(beir)
    texts = []
    while len(texts) < n:
        parts: list[str] = []
        while True:
            parts.append(rng.choice(pool))
            text = " ".join(parts)
            if len(tok.encode(text).ids) >= seq_len + 8:
                break
        texts.append(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    return out


def read_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(l)["text"] for l in f if l.strip()]


# ----------------------------------------------------------------------------------------------
# workers (each runs in its own process)
# ----------------------------------------------------------------------------------------------

def onnx_path(model: Path, int8: bool = False) -> Path:
    return CACHE / "onnx" / model.name / ("model_int8.onnx" if int8 else "model.onnx")


def worker_export(args) -> dict:
    """Export the HF BertModel to ONNX once; check ORT vs sentence-transformers embeddings."""
    import numpy as np
    import torch
    from transformers import AutoModel

    path = onnx_path(args.model)
    stamp = path.with_suffix(".json")
    key = {"model": str(args.model), "safetensors_mtime": (args.model / "model.safetensors").stat().st_mtime,
           "torch": torch.__version__}
    if not (path.exists() and stamp.exists() and json.loads(stamp.read_text()) == key):
        path.parent.mkdir(parents=True, exist_ok=True)
        hf = AutoModel.from_pretrained(str(args.model)).eval()
        hf.config.return_dict = False
        ids = torch.ones(2, 16, dtype=torch.long)
        inputs = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {n: {0: "batch", 1: "sequence"} for n in names}
        axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
        tmp = path.with_suffix(".tmp.onnx")
        started = time.perf_counter()
        try:  # the TorchScript exporter handles dynamic_axes directly
            torch.onnx.export(hf, inputs, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=17, do_constant_folding=True, dynamo=False)
            how = "torch.onnx.export(dynamo=False, opset 17)"
        except Exception as err:  # noqa: BLE001 - fall back to the dynamo exporter
            log(f"TorchScript ONNX export failed ({err!r}); trying dynamo=True")
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
            shapes = {n: {0: batch, 1: seq} for n in names}
            prog = torch.onnx.export(hf, inputs, input_names=names, output_names=["last_hidden_state"],
                                     dynamic_shapes=shapes, dynamo=True, external_data=False)
            prog.save(str(tmp))
            how = "torch.onnx.export(dynamo=True)"
        tmp.replace(path)
        stamp.write_text(json.dumps(key))
        log(f"exported {path} ({path.stat().st_size / 1e6:.0f} MB) with {how} in {time.perf_counter() - started:.1f}s")
    quantized = onnx_path(args.model, int8=True)
    if not (quantized.exists() and quantized.stat().st_mtime >= path.stat().st_mtime):
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
        log(f"quantized {quantized} (dynamic int8)")
    # Check: ORT (this script's pipeline) vs sentence-transformers on the benchmark texts.
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(args.model), device="cpu")
    worst, worst_int8 = {}, {}
    for seq_len, texts_file in zip(args.seq_lens, args.texts_files):
        texts = read_texts(Path(texts_file))[:64]
        st.max_seq_length = seq_len
        ref = st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        sess, tok = ort_session(args.model, seq_len, threads=2)
        got = ort_encode(sess, tok, texts, 32)
        worst[str(seq_len)] = float(np.min(np.sum(ref * got, axis=1)))
        sess, tok = ort_session(args.model, seq_len, threads=2, int8=True)
        got = ort_encode(sess, tok, texts, 32)
        worst_int8[str(seq_len)] = float(np.min(np.sum(ref * got, axis=1)))
    return {"onnx": str(path), "min_cos_vs_pytorch": worst, "int8_min_cos_vs_pytorch": worst_int8}


def ort_session(model: Path, seq_len: int, threads: int, int8: bool = False):
    import onnxruntime as ort
    from tokenizers import Tokenizer

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(onnx_path(model, int8)), so, providers=["CPUExecutionProvider"])
    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.enable_truncation(max_length=seq_len)  # tokenizer.json itself says 128 (and fixed padding)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest of the batch
    return sess, tok


def ort_encode(sess, tok, texts: list[str], batch_size: int):
    import numpy as np

    out = []
    for i in range(0, len(texts), batch_size):
        enc = tok.encode_batch([t.strip() for t in texts[i:i + batch_size]])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        types = np.array([e.type_ids for e in enc], dtype=np.int64)
        hidden = sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        out.append(pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))
    return np.concatenate(out)


def flops_per_passage(model: Path, seq_len: int) -> float:
    """Multiply-adds ×2 of one passage of seq_len tokens: the linear layers and attention's two products."""
    cfg = json.loads((model / "config.json").read_text())
    h, inner, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    linear = 2 * seq_len * (4 * h * h + 2 * h * inner)
    attention = 2 * 2 * seq_len * seq_len * h
    return float(layers * (linear + attention))


def worker_time(args) -> dict:
    texts = read_texts(Path(args.texts_files[0]))
    seq_len, threads, bs = args.seq_lens[0], args.threads[0], args.batch_size
    if args.worker == "pytorch":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        st = SentenceTransformer(str(args.model), device="cpu")
        st.max_seq_length = seq_len
        tokens = int(sum(st.tokenize(texts[i:i + bs])["attention_mask"].sum() for i in range(0, len(texts), bs)))

        def run(ts):
            with torch.inference_mode():
                st.encode(ts, batch_size=bs, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        version = f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}"
    else:
        import onnxruntime

        sess, tok = ort_session(args.model, seq_len, threads, int8=args.worker == "ort-int8")
        tokens = sum(sum(e.attention_mask) for e in tok.encode_batch(texts))

        def run(ts):
            ort_encode(sess, tok, ts, bs)
        version = f"onnxruntime {onnxruntime.__version__}"
    run(texts[:bs])  # warm-up
    cpu_started = time.process_time()  # all threads of this process
    started = time.perf_counter()
    for _ in range(args.repeat):
        run(texts)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    n = len(texts) * args.repeat
    return {"passages": n, "tokens": tokens * args.repeat, "seconds": seconds, "passages_per_s": n / seconds,
            "tokens_per_s": tokens * args.repeat / seconds, "cpu_seconds": cpu, "passages_per_cpu_s": n / cpu,
            "version": version}


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------

def run_child(cmd: list[str], env: dict | None = None) -> tuple[dict | None, float, str]:
    """Run cmd, return (its stdout JSON, its peak RSS in MB, error text)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        err_text = err.read().decode(errors="replace")
    rss_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    if proc.returncode != 0:
        return None, rss_mb, f"exit {proc.returncode}: {err_text.strip()[-2000:]}"
    try:
        return json.loads(out.decode().strip().splitlines()[-1]), rss_mb, ""
    except (ValueError, IndexError) as e:
        return None, rss_mb, f"bad output ({e}): {out.decode(errors='replace')[-500:]} {err_text[-500:]}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    p.add_argument("--beir", type=Path, default=DEFAULT_BEIR, help="where the passage texts come from")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--seq-lens", type=int, nargs="+", default=[128, 512])
    p.add_argument("--passages", type=int, nargs="+", default=[256, 64],
                   help="passages per sequence length (one value per --seq-lens)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--peers", nargs="+",
                   default=["sgemm", "pytorch", "ort", "ort-int8", "ours-ref", "ours", "ours-int8-ref", "ours-int8"])
    p.add_argument("--sgemm-binary", type=Path, default=DEFAULT_SGEMM)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    p.add_argument("--worker", choices=["export", "pytorch", "ort", "ort-int8"], help=argparse.SUPPRESS)
    p.add_argument("--texts-files", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.worker == "export":
        print(json.dumps(worker_export(args)))
        return
    if args.worker:
        print(json.dumps(worker_time(args)))
        return

    if not (args.model / "model.safetensors").exists():
        sys.exit(f"no model at {args.model}: run scripts/fetch_models.sh")
    counts = dict(zip(args.seq_lens, args.passages + [args.passages[-1]] * len(args.seq_lens)))
    for n in args.seq_lens:
        if n > 512:
            sys.exit("MiniLM has 512 position embeddings")
    files = {n: make_texts(args.model, args.beir, n, counts[n]) for n in args.seq_lens}
    me = [sys.executable, str(Path(__file__).resolve()), "--model", str(args.model),
          "--batch-size", str(args.batch_size), "--repeat", str(args.repeat)]
    notes: list[str] = []
    check = None
    if "ort" in args.peers or "ort-int8" in args.peers:
        log("ONNX export / check ...")
        check, _, err = run_child(me + ["--worker", "export", "--seq-lens", *map(str, args.seq_lens),
                                        "--texts-files", *map(str, files.values())])
        if check is None:
            notes.append(f"ort skipped: export failed: {err}")
            args.peers = [x for x in args.peers if x not in ("ort", "ort-int8")]
        else:
            bad = {k: v for k, v in check["min_cos_vs_pytorch"].items() if v <= 0.9999}
            if bad:
                notes.append(f"ort skipped: embeddings differ from PyTorch (min cosine {bad})")
                args.peers = [x for x in args.peers if x not in ("ort", "ort-int8")]
            else:
                notes.append("ort vs pytorch min cosine: " +
                             ", ".join(f"{k} tokens {v:.6f}" for k, v in check["min_cos_vs_pytorch"].items()))
                notes.append("ort-int8 (dynamic quantization) vs pytorch min cosine: " +
                             ", ".join(f"{k} tokens {v:.6f}" for k, v in check["int8_min_cos_vs_pytorch"].items()))
    if any(x.startswith("ours") for x in args.peers) and not args.binary.exists():
        notes.append(f"ours skipped: {args.binary} does not exist yet (build the release preset's bench target)")
        args.peers = [x for x in args.peers if not x.startswith("ours")]

    sgemm = {}
    if "sgemm" in args.peers:
        args.peers = [x for x in args.peers if x != "sgemm"]
        for threads in args.threads:
            log(f"sgemm: {threads} thread(s) ...")
            res, _, err = run_child([str(args.sgemm_binary), "--threads", str(threads), "--json"])
            if res is None:
                notes.append(f"sgemm {threads} threads failed: {err}")
            else:
                sgemm[threads] = res
    flops = {n: flops_per_passage(args.model, n) for n in args.seq_lens}

    results = []
    for seq_len in args.seq_lens:
        for threads in args.threads:
            for peer in args.peers:
                env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
                if peer.startswith("ours"):
                    parts = peer.split("-")
                    precision = parts[1] if len(parts) > 1 and parts[1] in ("fp32", "int8", "bf16") else "fp32"
                    attention = "reference" if parts[-1] == "ref" else "auto"
                    cmd = [str(args.binary), "--model", str(args.model), "--texts", str(files[seq_len]),
                           "--threads", str(threads), "--batch-size", str(args.batch_size),
                           "--max-tokens", str(seq_len), "--repeat", str(args.repeat), "--json",
                           "--precision", precision, "--attention", attention]
                else:
                    cmd = me + ["--worker", peer, "--threads", str(threads), "--seq-lens", str(seq_len),
                                "--texts-files", str(files[seq_len])]
                log(f"{peer}: {seq_len} tokens, {threads} thread(s) ...")
                res, rss, err = run_child(cmd, env)
                if res is None:
                    notes.append(f"{peer} {seq_len} tokens {threads} threads failed: {err}")
                    continue
                res.update(peer=peer, seq_len=seq_len, threads=threads, peak_rss_mb=rss,
                           self_reported_peak_rss_mb=res.get("peak_rss_mb"))
                # Model FLOPs done per second, as a fraction of this run's SGEMM peak (wall and CPU).
                if threads in sgemm:
                    peak = sgemm[threads]
                    res["gflops"] = res["passages_per_s"] * flops[seq_len] / 1e9
                    res["of_sgemm_peak"] = res["gflops"] / peak["peak_gflops"]
                    per_cpu = max(s["gflops_per_cpu_s"] for s in peak["shapes"])
                    res["of_sgemm_peak_per_cpu_s"] = res["passages_per_cpu_s"] * flops[seq_len] / 1e9 / per_cpu
                results.append(res)

    def find(peer, seq_len, threads):
        return next((r for r in results if (r["peer"], r["seq_len"], r["threads"]) == (peer, seq_len, threads)), None)

    ratios = []
    for seq_len in args.seq_lens:
        for threads in args.threads:
            for mine in ("ours", "ours-int8"):
                ours = find(mine, seq_len, threads)
                if not ours:
                    continue
                for other in ("ours-ref", "ort", "ort-int8", "pytorch"):
                    o = find(other, seq_len, threads)
                    if o:
                        ratios.append({"seq_len": seq_len, "threads": threads, "ours": mine, "vs": other,
                                       "speed_ratio": ours["passages_per_s"] / o["passages_per_s"],
                                       "cpu_ratio": ours["passages_per_cpu_s"] / o["passages_per_cpu_s"],
                                       "rss_ratio": ours["peak_rss_mb"] / o["peak_rss_mb"]})
    if args.json:
        print(json.dumps({"batch_size": args.batch_size, "repeat": args.repeat, "results": results,
                          "ratios": ratios, "notes": notes, "ort_check": check, "sgemm": sgemm,
                          "flops_per_passage": flops}, indent=2))
        return
    print(f"all-MiniLM-L6-v2, batch {args.batch_size}, {args.repeat} timed passes after one warm-up batch; "
          f"peak RSS = whole process\n")
    for threads, peak in sgemm.items():
        shapes = ", ".join(f"{x['shape']} {x['gflops']:.1f} GFLOP/s ({x['gflops_per_cpu_s']:.1f} per CPU-s)"
                           for x in peak["shapes"])
        allowed = ", ".join(f"{n} tokens {peak['peak_gflops'] * 1e9 / flops[n]:.1f} passages/s" for n in flops)
        print(f"SGEMM ({peak['blas_kernels']}), {threads} thread(s): {shapes}; the fp32 peak allows {allowed}")
    print("\n| peer | tokens/passage | threads | passages | passages/s | passages/CPU-s | CPU-s "
          "| of SGEMM peak (wall / CPU) | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        share = (f"{r['of_sgemm_peak']:.2f} / {r['of_sgemm_peak_per_cpu_s']:.2f}" if "of_sgemm_peak" in r else "–")
        print(f"| {r['peer']} | {r['seq_len']} | {r['threads']} | {int(r['passages'])} | {r['passages_per_s']:.1f} "
              f"| {r['passages_per_cpu_s']:.2f} | {r['cpu_seconds']:.1f} | {share} | {r['peak_rss_mb']:.0f} |")
    if ratios:
        print("\n| tokens/passage | threads | ours | / | passages/s ratio | passages/CPU-s ratio | peak RSS ratio |")
        print("|---|---|---|---|---|---|---|")
        for r in ratios:
            print(f"| {r['seq_len']} | {r['threads']} | {r['ours']} | {r['vs']} | {r['speed_ratio']:.2f} "
                  f"| {r['cpu_ratio']:.2f} | {r['rss_ratio']:.2f} |")
    versions = sorted({r["version"] for r in results if "version" in r})
    if versions:
        print("\n" + "; ".join(versions))
    for n in notes:
        print(f"\n- {n}")


if __name__ == "__main__":
    main()
