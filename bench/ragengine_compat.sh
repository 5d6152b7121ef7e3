#!/usr/bin/env bash
# The RAGEngine compatibility diff, generated from a run: starts the real KAITO RAGEngine v0.12.0
# (../shared/bench/start_ragengine.sh) and Kaito-RAG with the same embedding model and a model server
# that is not there, sends both the 128 probes of ../shared/bench/ragengine_api_bench.py compat, and
# writes bench/ragengine_compat/{ragengine-v0.12.0,kaito-rag}.json and docs/ragengine-compat-diff.md.
# Exits 2 when a difference has no reason in bench/ragengine_compat/reasons.json.
#   RAGENGINE_SRC   presets/ragengine of a KAITO v0.12.0 checkout (../shared/bench/README.md, step 1)
#   RAGENGINE_VENV  a venv with its requirements installed (step 2)
#   KAITO_RAG_BIN   the binary (default build/release/src/kaito-rag)
#   MODEL           the sentence-transformers folder both servers embed with
#   --ours-only     rerun Kaito-RAG only (keeps the committed RAGEngine run) and regenerate the report
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${KR_SHARED_DIR:-$REPO/../shared}
BIN=${KAITO_RAG_BIN:-$REPO/build/release/src/kaito-rag}
MODEL=${MODEL:-$HOME/.cache/kaito-rag/models/all-MiniLM-L6-v2}
PYTHON=${PYTHON:-python3}
OURS_ONLY=0
[[ ${1:-} == --ours-only ]] && OURS_ONLY=1
TOOL="$SHARED/bench/ragengine_api_bench.py"
RECORDS="$REPO/bench/ragengine_compat"
[[ -f $TOOL ]] || { echo "no $TOOL (../shared/bench)" >&2; exit 1; }
[[ -x $BIN ]] || { echo "no binary at $BIN: build it (cmake --build --preset release) or set KAITO_RAG_BIN" >&2; exit 1; }
[[ -f $MODEL/model.safetensors ]] || { echo "no model in $MODEL: run scripts/fetch_models.sh" >&2; exit 1; }

WORK=$(mktemp -d /tmp/kr-compat.XXXXXX)
PIDS=()
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
DEAD_LLM=http://127.0.0.1:9/v1   # nothing listens: neither server reaches a model

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# run_probes LABEL URL PERSIST_DIR: the probes, into $WORK/LABEL/compat.json
run_probes() {
  "$PYTHON" "$TOOL" compat --url "$2" --label "$1" --out "$WORK/$1" --persist-dir "$3" >"$WORK/$1.probes.log"
}

KR_PERSIST="$WORK/kr-persist"
mkdir -p "$KR_PERSIST"
PORT=$(free_port)
"$BIN" serve --data-dir "$WORK/kr-data" --host 127.0.0.1 --port "$PORT" --snapshot-dir "$KR_PERSIST" \
  --embedding-model "$MODEL" --embedding-threads 2 --encoder-precision fp32 \
  --llm-url "$DEAD_LLM" --llm-max-retries 0 \
  >"$WORK/kaito-rag.log" 2>&1 &
PIDS+=($!)
run_probes kaito-rag "http://127.0.0.1:$PORT" "$KR_PERSIST"
VERSION="$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
SETUP_OURS="\`kaito-rag serve --embedding-model all-MiniLM-L6-v2 --encoder-precision fp32 --llm-url $DEAD_LLM --snapshot-dir <persist>\` (C++ encoder, hybrid BM25 + dense, SQLite)"

if [[ $OURS_ONLY == 0 ]]; then
  : "${RAGENGINE_SRC:?set RAGENGINE_SRC to presets/ragengine of KAITO v0.12.0 (see ../shared/bench/README.md)}"
  : "${RAGENGINE_VENV:?set RAGENGINE_VENV to a venv with its requirements}"
  if "$PYTHON" -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1",5000))!=0)'; then
    echo "port 5000 is in use: RAGEngine listens there; stop what holds it" >&2
    exit 1
  fi
  RE_PERSIST="$WORK/re-persist"
  mkdir -p "$RE_PERSIST"
  RE_PID=$(cd "$WORK" && DEFAULT_VECTOR_DB_PERSIST_DIR="$RE_PERSIST" MODEL="$MODEL" \
           LOG="$WORK/ragengine.log" RAGENGINE_SRC="$RAGENGINE_SRC" RAGENGINE_VENV="$RAGENGINE_VENV" \
           bash "$SHARED/bench/start_ragengine.sh")
  PIDS+=("$RE_PID")
  run_probes ragengine http://127.0.0.1:5000 "$RE_PERSIST"
  "$PYTHON" "$REPO/bench/ragengine_compat.py" record "$WORK/ragengine/compat.json" --persist-dir "$RE_PERSIST" \
    --out "$RECORDS/ragengine-v0.12.0.json" \
    --meta version=v0.12.0 "date=$(date -u +%F)" "embedding=all-MiniLM-L6-v2" \
    "setup=presets/ragengine of KAITO v0.12.0 started by ../shared/bench/start_ragengine.sh (FAISS, local embedding, LLM_INFERENCE_URL=$DEAD_LLM/chat/completions)"
fi

"$PYTHON" "$REPO/bench/ragengine_compat.py" record "$WORK/kaito-rag/compat.json" --persist-dir "$KR_PERSIST" \
  --out "$RECORDS/kaito-rag.json" \
  --meta "version=$VERSION" "date=$(date -u +%F)" "embedding=all-MiniLM-L6-v2" "setup=$SETUP_OURS"
status=0
if [[ -f $RECORDS/ragengine-v0.12.0.json ]]; then
  "$PYTHON" "$REPO/bench/ragengine_compat.py" report || status=$?
else
  echo "no RAGEngine record yet ($RECORDS/ragengine-v0.12.0.json): run without --ours-only" >&2
fi
[[ $OURS_ONLY == 1 ]] || "$PYTHON" "$TOOL" diff --normalize "$WORK/ragengine/compat.json" "$WORK/kaito-rag/compat.json" | tail -1
echo "wrote $RECORDS/*.json (and docs/ragengine-compat-diff.md with a RAGEngine record; logs in $WORK)"
exit "$status"
