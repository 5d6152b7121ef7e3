#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests (release and ASan+UBSan
# builds), the end-to-end suite against the real binary, and the offline
# validation of the deployment (Dockerfile, Helm chart, KAITO manifests, Terraform).
#   KR_SKIP_ASAN=1 scripts/test.sh     skip the sanitizer build (faster local runs)
#   KR_SKIP_DEPLOY=1 scripts/test.sh   skip the deployment checks
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

log "unit tests (release)"
ctest --preset release --parallel 2

if [ "${KR_SKIP_ASAN:-0}" != "1" ]; then
  log "unit tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan --parallel 2
fi

log "local model server for the real-model tests"
scripts/llm_server.sh setup

log "end-to-end tests"
KAITO_RAG_BIN="$PWD/build/release/src/kaito-rag" .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider

if [ "${KR_SKIP_DEPLOY:-0}" != "1" ]; then
  log "deployment checks (offline)"
  scripts/setup_deploy_tools.sh
  tests/deploy/run.sh
fi
