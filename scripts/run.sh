#!/usr/bin/env bash
# Sets up Kaito-RAG, ingests the sample handbook, starts the server and asks a
# question through the HTTP API. The server keeps running; Ctrl-C stops it.
#   KAITO_RAG_PORT=8080  KAITO_RAG_DATA_DIR=./data  KAITO_RAG_LLM_URL=...  (all optional)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
BIN=build/release/src/kaito-rag
PORT="${KAITO_RAG_PORT:-8080}"
export KAITO_RAG_DATA_DIR="${KAITO_RAG_DATA_DIR:-$PWD/data}"
URL="http://127.0.0.1:$PORT"
QUESTION="How many days of paid vacation do new employees get?"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The language model: the one you point at (KAITO workspace, vLLM, Ollama, ...), else the
# local Gemma 3 270M server (KR_NO_LLM=1 skips it: answers are then extractive).
if [ -z "${KAITO_RAG_LLM_URL:-}" ] && [ "${KR_NO_LLM:-0}" != "1" ]; then
  log "starting the local model server (first run builds llama.cpp: 10-20 minutes)"
  KAITO_RAG_LLM_URL="$(scripts/llm_server.sh start "${KAITO_RAG_LLM_PORT:-8090}")"
  export KAITO_RAG_LLM_URL
  # Its context (llm_server.sh: 4096) and a demo-sized answer: a 270M model on a laptop CPU.
  export KAITO_RAG_LLM_CONTEXT_WINDOW="${KAITO_RAG_LLM_CONTEXT_WINDOW:-4096}"
  export KAITO_RAG_ANSWER_MAX_TOKENS="${KAITO_RAG_ANSWER_MAX_TOKENS:-96}"
  export KAITO_RAG_TOP_K="${KAITO_RAG_TOP_K:-3}"
  # A 270M base model often writes what its sources do not say: such an answer is replaced by
  # the extractive one (with a note), so this setup never answers worse than no model at all.
  export KAITO_RAG_GROUNDING_POLICY="${KAITO_RAG_GROUNDING_POLICY:-replace}"
  # Gemma 3 270M is a base model: a few-shot completion prompt makes it answer in one cited line
  # instead of copying its sources (--llm-prompt-style auto picks it from the name; said here for clarity).
  export KAITO_RAG_LLM_PROMPT_STYLE="${KAITO_RAG_LLM_PROMPT_STYLE:-completion}"
fi

# Dense + hybrid retrieval with the local encoder (all-MiniLM-L6-v2, fetched by setup.sh).
# KR_NO_EMBEDDINGS=1 keeps BM25 only; KAITO_RAG_EMBEDDING_MODEL/URL choose another model.
if [ -z "${KAITO_RAG_EMBEDDING_MODEL:-}${KAITO_RAG_EMBEDDING_URL:-}" ] && [ "${KR_NO_EMBEDDINGS:-0}" != "1" ]; then
  KAITO_RAG_EMBEDDING_MODEL="$(scripts/fetch_models.sh)/all-MiniLM-L6-v2"
  export KAITO_RAG_EMBEDDING_MODEL
fi

log "ingesting the sample documents (samples/handbook) into $KAITO_RAG_DATA_DIR"
"$BIN" ingest samples/handbook --collection default

log "starting the server on $URL"
"$BIN" serve --host 127.0.0.1 --port "$PORT" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -sf "$URL/readyz" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "the server did not start (port $PORT in use? set KAITO_RAG_PORT)" >&2; exit 1; }
  sleep 0.1
done

log "asking: $QUESTION"
ANSWER="$(mktemp)"
STATUS="$(curl -s -m 600 -o "$ANSWER" -w '%{http_code}' "$URL/v1/collections/default/ask" \
  -H 'Content-Type: application/json' -d "{\"question\": \"$QUESTION\"}")" || STATUS=000
python3 - "$ANSWER" "$STATUS" <<'PY'
import json, sys
path, status = sys.argv[1], sys.argv[2]
try:
    a = json.load(open(path))
except ValueError:
    a = {}
if status != "200":
    # The server stays up: say what failed and how to ask again, not a traceback.
    message = (a.get("error") or {}).get("message") or "no answer (HTTP %s)" % status
    print("\nThe question was not answered: " + message)
    print("(the server keeps running; on a busy machine the local model can be slow — ask again, or run with KR_NO_LLM=1)")
    sys.exit(0)
print("\n" + a["answer"] + "\n")
print("(" + ("answered by " + a.get("model", "") if a["mode"] == "generative" else a.get("note", "extractive")) + ")")
print("Sources:")
for s in a["sources"]:
    c = s["citation"]
    page = "" if not c["page_start"] else (", page %d" % c["page_start"] if c["page_start"] == c["page_end"] else ", pages %d-%d" % (c["page_start"], c["page_end"]))
    section = " — " + " > ".join(c["heading_path"]) if c["heading_path"] else ""
    print("  [%d] %s%s%s" % (s["number"], c["document"], page, section))
PY
rm -f "$ANSWER"

cat <<EOM

Kaito-RAG is running at $URL  (Ctrl-C to stop)
  Ask:     curl -s $URL/v1/collections/default/ask -H 'Content-Type: application/json' -d '{"question": "How long is paid parental leave?"}'
  Search:  curl -s $URL/v1/collections/default/search -H 'Content-Type: application/json' -d '{"query": "password length"}'
  Upload:  curl -s -F file=@your.pdf $URL/v1/collections/default/documents
  API:     $URL/openapi.json

Open the web UI in a browser: $URL/
EOM
wait $SERVER
