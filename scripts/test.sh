#!/usr/bin/env bash
# Sets up and runs the whole test suite. Every suite runs and reports even when an earlier one
# failed; the script exits non-zero at the end if any suite failed. The last lines are one table
# (suite, passed, failed, skipped, seconds), the skip reasons, the failures, and
# "N passed, N failed" (the line CI reads). With CI set (.ci/run sets it), a skip that is not in
# tests/expected_skips.txt counts as a failure: a missing fixture, model or tool fails the run.
#
# Suites, in order (DESIGN.md "What CI runs" says why each is on every commit):
#   unit-release, unit-asan (ASan+UBSan), e2e (release binary), web-unit and web-browser (the UI:
#   Vitest, Playwright + chromium with the fake model and sign-in against oidc-provider),
#   web-real-model (the UI with the local model of the llm-server suite), e2e-asan (a subset against the
#   ASan+UBSan binary), tsan-unit/tsan-e2e (concurrency tests against a TSan build), fuzz (every libFuzzer
#   target for KR_FUZZ_SECONDS, regressions replayed), deploy. The fault loops (kill -9 during ingest
#   and deletes, a misbehaving parse worker) are tests/e2e/test_faults.py, part of e2e.
#   KR_SKIP_ASAN=1 KR_SKIP_TSAN=1 KR_SKIP_FUZZ=1 KR_SKIP_DEPLOY=1   leave a suite out (local runs;
#                                          a left-out suite is reported as skipped, not passed)
#   KR_FUZZ_SECONDS=13                     seconds per fuzz target
#   KR_FAULT_TRIALS=3                      kill -9 trials per fault loop (scripts/long_tier.sh: 100)
#   KR_SHARED_DIR=/path/to/shared          the shared corpus/eval data when not at ../shared
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO="$PWD"
export KR_RESULTS="${KR_RESULTS:-$REPO/build/test-results}"
rm -rf "$KR_RESULTS"
mkdir -p "$KR_RESULTS"
PY=python3
# Leaks inside system libraries we do not own (each named with its reason in the file) are not failures.
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$REPO/tests/lsan.supp"
# ../shared lives elsewhere (e.g. a worktree outside the checkout's parent): KR_SHARED_DIR names it.
if [ -n "${KR_SHARED_DIR:-}" ]; then export KR_CORPUS_DIR="${KR_CORPUS_DIR:-$KR_SHARED_DIR/corpus}"; fi
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# suite NAME KIND ARTIFACT COMMAND...: runs COMMAND, records its results (scripts/test_report.py).
suite() {
  local name="$1" kind="$2" artifact="$3" started rc=0
  shift 3
  log "$name"
  started=$SECONDS
  "$@" || rc=$?
  KR_SUITE_SECONDS=$((SECONDS - started)) $PY scripts/test_report.py record "$name" "$kind" "$rc" "$artifact"
}
# left_out NAME REASON: a suite not run is reported as one skip with its reason.
left_out() {
  printf '{"passed": 0, "failed": [], "skipped": [["%s", "%s"]]}\n' "$1" "$2" >"$KR_RESULTS/$1.counts"
  $PY scripts/test_report.py record "$1" counts 0 "$KR_RESULTS/$1.counts"
}
# ctest_suite NAME PRESET [ctest args...]
ctest_suite() {
  local name="$1" preset="$2"
  shift 2
  suite "$name" junit "$KR_RESULTS/$name.xml" ctest --preset "$preset" --parallel 2 --output-junit "$KR_RESULTS/$name.xml" "$@"
}
# pytest_suite NAME BINARY [pytest args...]
pytest_suite() {
  local name="$1" binary="$2"
  shift 2
  suite "$name" junit "$KR_RESULTS/$name.xml" env KAITO_RAG_BIN="$binary" .venv/bin/python -m pytest -q -rsx \
    -p no:cacheprovider --junitxml="$KR_RESULTS/$name.xml" "$@"
}
build_preset() { # PRESET [targets...]
  local preset="$1"
  shift
  cmake --preset "$preset" >/dev/null || return 1
  if [ $# -gt 0 ]; then cmake --build --preset "$preset" --target "$@"; else cmake --build --preset "$preset"; fi
}

suite setup none "" scripts/setup.sh

ctest_suite unit-release release

if [ "${KR_SKIP_ASAN:-0}" != "1" ]; then
  suite build-asan none "" build_preset asan
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest_suite unit-asan asan
else
  left_out unit-asan "KR_SKIP_ASAN=1"
fi

suite llm-server none "" scripts/llm_server.sh setup
pytest_suite e2e "$REPO/build/release/src/kaito-rag" tests/e2e

# The web UI: Vitest unit tests, then Playwright driving Debian's chromium against a live server.
web_unit() { (cd web && npx vitest run --reporter=default --reporter=junit --outputFile.junit="$KR_RESULTS/web-unit.xml"); }
web_browser() {
  (cd web && KAITO_RAG_BIN="$REPO/build/release/src/kaito-rag" node --test --test-concurrency=1 --test-reporter=spec \
    --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination="$KR_RESULTS/web-browser.xml" \
    tests/browser/webapp.test.mjs tests/browser/signin.test.mjs tests/browser/sources.test.mjs)
}
# The UI with the real local model, under the machine-wide lock the real-model e2e tests take
# (one real-model run at a time: they share the cores the model's speed depends on).
web_real_model() {
  local lock="${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/llm/real-model-tests.lock"
  mkdir -p "$(dirname "$lock")"
  (cd web && KAITO_RAG_BIN="$REPO/build/release/src/kaito-rag" flock "$lock" node --test --test-reporter=spec \
    --test-reporter-destination=stdout --test-reporter=junit --test-reporter-destination="$KR_RESULTS/web-real-model.xml" \
    tests/browser/real_model.test.mjs)
}
suite web-unit junit "$KR_RESULTS/web-unit.xml" web_unit
suite web-browser junit "$KR_RESULTS/web-browser.xml" web_browser
suite web-real-model junit "$KR_RESULTS/web-real-model.xml" web_real_model

if [ "${KR_SKIP_ASAN:-0}" != "1" ]; then
  # The binary under ASan+UBSan: auth hook, relay threads, SSE, parse worker, concurrency, errors.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    KAITO_RAG_E2E_READY_TIMEOUT=60 pytest_suite e2e-asan "$REPO/build/asan/src/kaito-rag" \
    tests/e2e/test_auth.py tests/e2e/test_concurrency.py tests/e2e/test_errors.py tests/e2e/test_openai_compat.py \
    tests/e2e/test_documents.py tests/e2e/test_faults.py -m "not slow and not real_model" -k "not alloc"
else
  left_out e2e-asan "KR_SKIP_ASAN=1"
fi

if [ "${KR_SKIP_TSAN:-0}" != "1" ]; then
  # Only what the concurrency tests need (scripts/tsan_subset.sh): the binary and the test programs
  # holding them; a TSan report fails the test (halt_on_error; the e2e fixtures read the server logs).
  source scripts/tsan_subset.sh
  suite build-tsan none "" build_preset tsan "${TSAN_TARGETS[@]}"
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$REPO/tests/tsan.supp"
  ctest_suite tsan-unit tsan -R "$TSAN_UNIT_REGEX"
  KAITO_RAG_E2E_READY_TIMEOUT=60 pytest_suite tsan-e2e "$REPO/build/tsan/src/kaito-rag" "${TSAN_E2E_TESTS[@]}" \
    -m "not slow and not real_model"
  unset TSAN_OPTIONS
else
  left_out tsan-unit "KR_SKIP_TSAN=1"
  left_out tsan-e2e "KR_SKIP_TSAN=1"
fi

if [ "${KR_SKIP_FUZZ:-0}" != "1" ]; then
  suite build-fuzz none "" build_preset fuzz
  suite fuzz counts "$KR_RESULTS/fuzz.counts" tests/fuzz/run.sh --seconds "${KR_FUZZ_SECONDS:-13}" \
    --counts "$KR_RESULTS/fuzz.counts"
else
  left_out fuzz "KR_SKIP_FUZZ=1"
fi

if [ "${KR_SKIP_DEPLOY:-0}" != "1" ]; then
  deploy_checks() { tests/deploy/run.sh 2>&1 | tee "$KR_RESULTS/deploy.log"; }
  suite deploy deploy "$KR_RESULTS/deploy.log" deploy_checks
else
  left_out deploy "KR_SKIP_DEPLOY=1"
fi

$PY scripts/test_report.py table
