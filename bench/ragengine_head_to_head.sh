#!/usr/bin/env bash
# Head-to-head against the real KAITO RAGEngine (issue 9's measurement), in one session on one machine:
#   1. installs RAGEngine's requirements into a venv with uv if the venv is missing or incomplete
#      (pip's resolver backtracks for most of an hour on these pins; uv resolves them in seconds);
#   2. ../shared/bench/ragengine_api_bench.py bench against RAGEngine, then against Kaito-RAG (local encoder,
#      fp32, then int8), back to back, same all-MiniLM-L6-v2 folder, same 3,358 pubmedqa-dev passages;
#   3. bench/ingest_efficiency.py (ingest / encoder alone) in the same session;
#   4. writes OUT/results.json and OUT/table.md (ratios against the issue's targets; uptime per run).
# The machine is shared: compare server CPU-seconds per document, not only wall-clock docs/s.
#   RAGENGINE_SRC   presets/ragengine of KAITO v0.12.0 (default /work/peers/ragengine/presets/ragengine; see
#                   ../shared/bench/README.md for how to get it — it is never copied into this repository)
#   RAGENGINE_VENV  the benchmark venv (default /work/peers/ragengine-venv)
#   KR_BIN          kaito-rag binary (default build/release/src/kaito-rag)
#   OUT             results folder (default build/head_to_head-<UTC time> (ignored by git))
#   SKIP_RAGENGINE=1 / SKIP_KR=1 / SKIP_INT8=1 / SKIP_EFFICIENCY=1  leave a part out (its rows are then missing)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
RAGENGINE_SRC=${RAGENGINE_SRC:-/work/peers/ragengine/presets/ragengine}
RAGENGINE_VENV=${RAGENGINE_VENV:-/work/peers/ragengine-venv}
KR_BIN=${KR_BIN:-$ROOT/build/release/src/kaito-rag}
MODEL=${MODEL:-${KAITO_RAG_MODEL_CACHE:-$HOME/.cache/kaito-rag/models}/all-MiniLM-L6-v2}
OUT=${OUT:-$ROOT/build/head_to_head-$(date -u +%Y%m%dT%H%M%SZ)}
BENCH="python3 $SHARED_BENCH/ragengine_api_bench.py"
mkdir -p "$OUT"
for f in "$SHARED_BENCH/ragengine_api_bench.py" "$MODEL/config.json"; do
    [[ -f $f ]] || { echo "missing $f" >&2; exit 2; }
done

wait_health() {  # url, seconds
    for _ in $(seq "$2"); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 1; done
    echo "no answer from $1 after $2 s" >&2; return 1
}
stop() { kill "$1" 2>/dev/null || true; for _ in $(seq 60); do kill -0 "$1" 2>/dev/null || return 0; sleep 1; done; kill -9 "$1" 2>/dev/null || true; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
record_load() { echo "{\"when\":\"$1\",\"utc\":\"$(date -u +%FT%TZ)\",\"uptime\":\"$(uptime)\"}" >>"$OUT/load.jsonl"; }

if [[ ${SKIP_RAGENGINE:-0} != 1 ]]; then
    [[ -f $RAGENGINE_SRC/main.py ]] || { echo "RAGENGINE_SRC=$RAGENGINE_SRC has no main.py" >&2; exit 2; }
    if ! "$RAGENGINE_VENV/bin/python" -c 'import llama_index.core, faiss, torch, fastapi' 2>/dev/null; then
        [[ -x $RAGENGINE_VENV/bin/python ]] || python3 -m venv "$RAGENGINE_VENV"
        [[ -x $RAGENGINE_VENV/bin/uv ]] || "$RAGENGINE_VENV/bin/pip" install -q uv
        # transformers 5 / huggingface-hub 1.x break llama-index-embeddings-huggingface 0.6.1's imports.
        printf 'huggingface-hub<1.0\ntransformers<5\n' >"$OUT/constraints.txt"
        nice "$RAGENGINE_VENV/bin/uv" pip install --python "$RAGENGINE_VENV/bin/python" \
            -r "$RAGENGINE_SRC/requirements.txt" -c "$OUT/constraints.txt"
    fi
    # start_ragengine.sh's environment, but on a free loopback port: main.py hard-codes 0.0.0.0:5000, which another
    # RAGEngine on this machine (e.g. a compat run) may hold.
    re_port=$(free_port)
    record_load ragengine_start
    (cd "$RAGENGINE_SRC" && PYTHONPATH=$(dirname "$RAGENGINE_SRC") EMBEDDING_SOURCE_TYPE=local \
        LOCAL_EMBEDDING_MODEL_ID=$MODEL VECTOR_DB_TYPE=faiss LLM_INFERENCE_URL=http://127.0.0.1:9/v1/chat/completions \
        HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
        exec "$RAGENGINE_VENV/bin/python3" -c 'import sys, uvicorn, main
uvicorn.run(main.app, host="127.0.0.1", port=int(sys.argv[1]), loop="asyncio")' "$re_port") >"$OUT/ragengine.log" 2>&1 &
    pid=$!
    trap 'stop $pid' EXIT
    wait_health "http://127.0.0.1:$re_port/health" 600
    $BENCH bench --url "http://127.0.0.1:$re_port" --pid "$pid" --label ragengine --out "$OUT/ragengine"
    record_load ragengine_end
    stop "$pid"; trap - EXIT
fi

# Kaito-RAG twice: the fp32 encoder (issue 9's >= 2.5x target) and the int8 one (>= 5x at equal nDCG@10).
run_kaito_rag() {  # label, encoder precision
    local data port pid
    data=$(mktemp -d /tmp/kr_h2h.XXXXXX)
    port=$(free_port)
    record_load "$1_start"
    KAITO_RAG_DATA_DIR=$data KAITO_RAG_HOST=127.0.0.1 KAITO_RAG_PORT=$port KAITO_RAG_EMBEDDING_MODEL=$MODEL \
        KAITO_RAG_ENCODER_PRECISION=$2 KAITO_RAG_LOG_LEVEL=warn "$KR_BIN" serve >"$OUT/$1.log" 2>&1 &
    pid=$!
    trap "stop $pid; rm -rf '$data'" EXIT
    wait_health "http://127.0.0.1:$port/readyz" 120
    $BENCH bench --url "http://127.0.0.1:$port" --pid "$pid" --label "$1" --out "$OUT/$1"
    record_load "$1_end"
    git -C "$ROOT" rev-parse --short HEAD >"$OUT/$1/commit"
    stop "$pid"; rm -rf "$data"; trap - EXIT
}
if [[ ${SKIP_KR:-0} != 1 ]]; then
    run_kaito_rag kaito-rag fp32
    [[ ${SKIP_INT8:-0} == 1 ]] || run_kaito_rag kaito-rag-int8 int8
fi

if [[ ${SKIP_EFFICIENCY:-0} != 1 ]]; then
    record_load efficiency_start
    python3 "$ROOT/bench/ingest_efficiency.py" --bin "$KR_BIN" --docs 1000 --all | tail -1 >"$OUT/efficiency.json"
    record_load efficiency_end
fi

python3 "$ROOT/bench/head_to_head_report.py" "$OUT"
