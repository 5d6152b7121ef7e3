#!/usr/bin/env bash
# Creates the benchmark venv (.venv-bench at the repository root) with the peers of bench/*.py:
# PyTorch + sentence-transformers, ONNX Runtime (+ onnx/onnxscript for the export), faiss, hnswlib,
# bm25s, LlamaIndex — bench/requirements.txt, PyPI only. Never used by CI or scripts/test.sh.
#
#   bash bench/setup_venv.sh                      # full install (PyPI's torch is the CUDA build: ~6 GB)
#   KR_BENCH_BASE_VENV=/path/to/venv bash bench/setup_venv.sh
#       reuse the packages of an existing venv (e.g. one that already has torch): the new venv sees
#       its site-packages through a .pth file and installs only the requirements it lacks.
#   KR_BENCH_VENV=DIR  where to create it (default .venv-bench)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${KR_BENCH_VENV:-$repo/.venv-bench}"
base="${KR_BENCH_BASE_VENV:-}"
requirements="$repo/bench/requirements.txt"

if [[ -n "$base" ]]; then
  [[ -x "$base/bin/python" ]] || { echo "setup_venv: $base/bin/python does not exist" >&2; exit 1; }
  python="$base/bin/python"
else
  python="${PYTHON:-python3}"
fi
if [[ ! -x "$venv/bin/python" ]]; then
  # A venv made from a venv's python gets that venv's base interpreter.
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip

if [[ -z "$base" ]]; then
  "$venv/bin/python" -m pip install -r "$requirements"
  exit 0
fi
base_site="$("$base/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
venv_site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$base_site" >"$venv_site/kr_base_venv.pth"
# Install only what the base venv lacks (by distribution name; its versions are kept as they are).
missing=()
while read -r line; do
  line="${line%%#*}"
  [[ -z "${line// }" ]] && continue
  name="$(sed -E 's/[<>=!~ ].*//' <<<"$line")"
  if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; m.version(sys.argv[1])" "$name" 2>/dev/null; then
    missing+=("$line")
  fi
done <"$requirements"
if ((${#missing[@]})); then
  echo "setup_venv: installing into $venv: ${missing[*]}"
  "$venv/bin/python" -m pip install "${missing[@]}"
fi
echo "setup_venv: $venv ready (base: $base)"
