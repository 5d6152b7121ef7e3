#!/usr/bin/env python3
"""Ingest speed: a LlamaIndex pipeline set up like KAITO RAGEngine's defaults vs `kaito-rag ingest`.

    HF_HUB_OFFLINE=1 .venv-bench/bin/python bench/ingest_llamaindex.py [--folder DIR] [--json]

Input: a folder of plain-text files. Default: the passages of ../shared/eval/pubmedqa-dev/corpus.jsonl
written once as one .txt file per passage (3,358 files, ~1.7 MB) under ~/.cache/kaito-rag/bench/ingest/.
With --folder, only .txt/.md files are read by LlamaIndex (SimpleDirectoryReader without extra
readers); give a folder of such files so that both sides see the same bytes.

LlamaIndex, like KAITO RAGEngine (presets/ragengine: VectorStoreIndex.from_documents with the default
transformations and a local HuggingFaceEmbedding, FAISS IndexFlatL2):
  SimpleDirectoryReader -> SentenceSplitter() (llama-index defaults: chunk_size 1024, chunk_overlap 200)
  -> HuggingFaceEmbedding(local MiniLM folder, default embed_batch_size 10, normalize)
  -> FaissVectorStore(faiss.IndexFlatL2(384)) via VectorStoreIndex.from_documents.
  KAITO's default embedding model is BAAI/bge-small-en-v1.5; its weights are not available here, so
  all-MiniLM-L6-v2 (same 384 dimensions, 6 instead of 12 layers: about half bge-small's encoder cost)
  stands in for both sides. KAITO wraps the flat index in an IndexIDMap for deletes; that changes
  nothing measurable here.
kaito-rag: `kaito-rag --data-dir TMP ingest --collection bench FOLDER` (BM25 only), and the same with
the embedding model (EMBED_FLAG below, tried before and after `ingest`, then as EMBED_ENV), skipped
with a message while the binary cannot embed.

Each side runs in its own process; peak RSS is that process's ru_maxrss. "ingest s" excludes
LlamaIndex's Python imports and model load (reported apart as "start s"); kaito-rag's time is the
whole process.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "kaito-rag" / "bench" / "ingest"
DEFAULT_MODEL = Path.home() / ".cache" / "kaito-rag" / "models" / "all-MiniLM-L6-v2"
DEFAULT_BEIR = REPO.parent / "shared" / "eval" / "pubmedqa-dev"
EMBED_FLAG = "--embedding-model"  # the kaito-rag option that turns on embeddings at ingest
EMBED_ENV = "KAITO_RAG_EMBEDDING_MODEL"
EXTS = [".txt", ".md"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def beir_folder(beir: Path) -> Path:
    out = CACHE / f"{beir.name}-txt"
    if (out / ".complete").exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=CACHE))
    with (beir / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                text = (d["title"] + "\n\n" + d["text"]) if d.get("title") else d["text"]
                (tmp / f"{d['_id']}.txt").write_text(text + "\n", encoding="utf-8")
    (tmp / ".complete").touch()
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def input_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTS)


# ----------------------------------------------------------------------------------------------
# LlamaIndex worker (own process)
# ----------------------------------------------------------------------------------------------

def worker_llamaindex(folder: Path, model: Path) -> dict:
    started = time.perf_counter()
    import faiss
    import llama_index.core
    from llama_index.core import Settings, SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    Settings.llm = None  # indexing needs no LLM; keeps LlamaIndex from looking for OpenAI
    embed = HuggingFaceEmbedding(model_name=str(model), device="cpu")
    dim = len(embed.get_text_embedding("This is a dummy sentence."))  # as KAITO's get_embedding_dimension
    start_s = time.perf_counter() - started

    started = time.perf_counter()
    # exclude_hidden=False: the default cache folder sits under ~/.cache, which the reader would skip.
    docs = SimpleDirectoryReader(str(folder), recursive=True, required_exts=EXTS, exclude_hidden=False).load_data()
    splitter = SentenceSplitter()
    faiss_index = faiss.IndexFlatL2(dim)
    storage = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss_index))
    VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed, transformations=[splitter])
    ingest_s = time.perf_counter() - started
    return {"documents": len(docs), "chunks": int(faiss_index.ntotal), "start_s": start_s, "ingest_s": ingest_s,
            "chunk_size": splitter.chunk_size, "chunk_overlap": splitter.chunk_overlap,
            "embed_batch_size": embed.embed_batch_size,
            "version": f"llama-index-core {llama_index.core.__version__}, faiss {faiss.__version__}"}


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------

def run_child(cmd: list[str], env: dict | None = None) -> tuple[int, str, str, float, float]:
    """(exit code, stdout, stderr, wall seconds, peak RSS MB) of one child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (proc.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                wall, usage.ru_maxrss / 1024)


def first_error(text: str) -> str:
    return next((l for l in text.splitlines() if l.strip() and not l.startswith("Run with --help")), "(no message)")


def run_kaito(binary: list[str], folder: Path, model: Path | None, jobs: int | None) -> dict:
    """One fresh ingest; raises RuntimeError with the error text when the binary cannot do it."""
    tail = ["ingest", "--collection", "bench", str(folder)] + (["--jobs", str(jobs)] if jobs else [])
    binary, extra = binary[0], binary[1:]  # extra: global options given with --kaito-arg
    attempts = [([], None)] if model is None else [([EMBED_FLAG, str(model)], None),
                                                  (None, None),  # the flag after `ingest`
                                                  ([], {EMBED_ENV: str(model)})]
    errors = []
    for pre, env in attempts:
        data = Path(tempfile.mkdtemp(prefix="kr-ingest-"))
        try:
            if pre is None:
                cmd = [binary, "--data-dir", str(data)] + extra + tail + [EMBED_FLAG, str(model)]
            else:
                cmd = [binary, "--data-dir", str(data)] + extra + pre + tail
            if env:  # only if the configuration knows the variable
                cfg = subprocess.run([binary, "--print-config"], capture_output=True, text=True,
                                     env=dict(os.environ, **env))
                if str(model) not in cfg.stdout:
                    errors.append(f"{EMBED_ENV} is not a kaito-rag setting")
                    break
            code, out, err, wall, rss = run_child(cmd, dict(os.environ, **(env or {})))
            shown = " ".join(([f"{k}={v}" for k, v in env.items()] if env else []) + cmd)
            if code == 0:
                m = re.search(r"(\d+) chunks written", out + err)
                return {"command": shown, "seconds": wall, "peak_rss_mb": rss,
                        "chunks": int(m.group(1)) if m else None,
                        "data_mb": sum(p.stat().st_size for p in data.rglob("*") if p.is_file()) / 1e6}
            errors.append(f"`{shown}` exit {code}: {first_error(err or out)}")
            if "not expected" not in err and "unrecognized" not in err.lower():
                break  # the option was understood; the failure is real
        finally:
            shutil.rmtree(data, ignore_errors=True)
    raise RuntimeError("; ".join(errors))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folder", type=Path, help="folder of .txt/.md files (default: the BEIR corpus as .txt files)")
    p.add_argument("--beir", type=Path, default=DEFAULT_BEIR)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--binary", default=str(REPO / "build" / "release" / "src" / "kaito-rag"))
    p.add_argument("--jobs", type=int, help="kaito-rag ingest --jobs (default: its own, all cores)")
    p.add_argument("--kaito-arg", action="append", default=[],
                   help="extra global kaito-rag option, e.g. --kaito-arg=--parse-isolation=inline (repeatable)")
    p.add_argument("--skip-llamaindex", action="store_true")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.worker:
        print(json.dumps(worker_llamaindex(args.folder, args.model)))
        return
    if not (args.model / "model.safetensors").exists():
        sys.exit(f"no model at {args.model}: run scripts/fetch_models.sh")
    folder = args.folder or beir_folder(args.beir)
    files = input_files(folder)
    if not files:
        sys.exit(f"no {'/'.join(EXTS)} files in {folder}")
    mb = sum(f.stat().st_size for f in files) / 1e6

    rows, notes = [], []
    if not args.skip_llamaindex:
        log("LlamaIndex ...")
        code, out, err, wall, rss = run_child([sys.executable, str(Path(__file__).resolve()), "--worker",
                                               "--folder", str(folder), "--model", str(args.model)])
        if code == 0:
            r = json.loads(out.strip().splitlines()[-1])
            rows.append({"system": f"LlamaIndex SentenceSplitter({r['chunk_size']}/{r['chunk_overlap']}) + "
                                   f"HuggingFaceEmbedding(MiniLM, batch {r['embed_batch_size']}) + FAISS IndexFlatL2",
                         "chunks": r["chunks"], "seconds": r["ingest_s"], "start_s": r["start_s"],
                         "process_s": wall, "peak_rss_mb": rss, "version": r["version"]})
        else:
            notes.append(f"LlamaIndex failed (exit {code}): {err.strip()[-1500:]}")
    for label, model in (("kaito-rag ingest (BM25 only)", None), ("kaito-rag ingest + embeddings", args.model)):
        log(f"{label} ...")
        try:
            r = run_kaito([args.binary] + args.kaito_arg, folder, model, args.jobs)
            rows.append({"system": label, "chunks": r["chunks"], "seconds": r["seconds"], "start_s": None,
                         "process_s": r["seconds"], "peak_rss_mb": r["peak_rss_mb"], "command": r["command"],
                         "data_mb": r["data_mb"]})
        except (RuntimeError, FileNotFoundError) as e:
            notes.append(f"{label} skipped: {e}")
    for r in rows:
        r["mb_per_s"] = mb / r["seconds"]
        r["chunks_per_s"] = r["chunks"] / r["seconds"] if r["chunks"] else None

    if args.json:
        print(json.dumps({"folder": str(folder), "files": len(files), "mb": mb, "model": str(args.model),
                          "rows": rows, "notes": notes}, indent=2))
        return
    print(f"{folder}: {len(files)} files, {mb:.2f} MB; embedding model {args.model.name} "
          f"(KAITO's default bge-small-en-v1.5 is not available here)\n")
    print("| system | chunks | ingest s | MB/s | chunks/s | start s | process s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    fmt = lambda v, f: "-" if v is None else format(v, f)  # noqa: E731
    for r in rows:
        print(f"| {r['system']} | {fmt(r['chunks'], 'd')} | {r['seconds']:.1f} | {r['mb_per_s']:.3f} "
              f"| {fmt(r['chunks_per_s'], '.1f')} | {fmt(r['start_s'], '.1f')} | {r['process_s']:.1f} "
              f"| {r['peak_rss_mb']:.0f} |")
    for r in rows:
        if r.get("version"):
            print(f"\n{r['system']}: {r['version']}")
        if r.get("command"):
            print(f"\n`{r['command']}`")
    for n in notes:
        print(f"\n- {n}")


if __name__ == "__main__":
    main()
