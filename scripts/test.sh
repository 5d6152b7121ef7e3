#!/usr/bin/env bash
# Sets up and runs the whole test suite: unit tests (release and ASan+UBSan
# builds) and the end-to-end suite against the real binary.
#   KR_SKIP_ASAN=1 scripts/test.sh   skip the sanitizer build (faster local runs)
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

log "end-to-end tests"
KAITO_RAG_BIN="$PWD/build/release/src/kaito-rag" .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider
