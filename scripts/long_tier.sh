#!/usr/bin/env bash
# The long tier: what is too slow for every commit, run nightly or before a release.
#   - the fault loops (tests/e2e/test_faults.py) with KR_FAULT_TRIALS=100 trials each: kill -9 at a
#     random point of an ingest and of a run of deletes, against the release binary;
#   - every libFuzzer target for KR_LONG_FUZZ_SECONDS (default 300) each, continuing from the corpus
#     earlier runs grew (build/fuzz-work/corpus);
#   - ThreadSanitizer: the concurrency subset (scripts/tsan_subset.sh) against a TSan build, the
#     slow e2e tests included (.ci/run runs it without them);
#   - the 10-minute soak (bench/soak.py: mixed search/ask/upload, RSS flat within 5 % after warm-up),
#     hybrid search with the local encoder (scripts/fetch_models.sh).
# Needs the release and fuzz builds (scripts/setup.sh; cmake --preset fuzz && cmake --build --preset fuzz).
# Results: build/test-results-long/ and the same closing table as scripts/test.sh.
#   KR_FAULT_TRIALS=100 KR_LONG_FUZZ_SECONDS=300 KR_LONG_PARTS="faults fuzz" scripts/long_tier.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
REPO="$PWD"
export KR_RESULTS="$REPO/build/test-results-long"
rm -rf "$KR_RESULTS"
mkdir -p "$KR_RESULTS"
PARTS="${KR_LONG_PARTS:-faults fuzz tsan soak}"
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
record() { # NAME KIND RC ARTIFACT SECONDS
  KR_SUITE_SECONDS="$5" python3 scripts/test_report.py record "$1" "$2" "$3" "$4"
}

if [[ " $PARTS " == *" faults "* ]]; then
  log "fault loops: ${KR_FAULT_TRIALS:-100} trials each"
  started=$SECONDS
  KR_FAULT_TRIALS="${KR_FAULT_TRIALS:-100}" KAITO_RAG_BIN="$REPO/build/release/src/kaito-rag" \
    .venv/bin/python -m pytest -q -rsx -p no:cacheprovider --junitxml="$KR_RESULTS/faults.xml" tests/e2e/test_faults.py
  record faults junit $? "$KR_RESULTS/faults.xml" $((SECONDS - started))
fi

if [[ " $PARTS " == *" fuzz "* ]]; then
  log "fuzzing: ${KR_LONG_FUZZ_SECONDS:-300} s per target"
  started=$SECONDS
  tests/fuzz/run.sh --seconds "${KR_LONG_FUZZ_SECONDS:-300}" --counts "$KR_RESULTS/fuzz.counts"
  record fuzz-long counts $? "$KR_RESULTS/fuzz.counts" $((SECONDS - started))
fi

if [[ " $PARTS " == *" tsan "* ]]; then
  log "ThreadSanitizer: build, concurrency unit tests, e2e concurrency tests"
  started=$SECONDS
  source scripts/tsan_subset.sh
  cmake --preset tsan >/dev/null && cmake --build --preset tsan --target "${TSAN_TARGETS[@]}"
  record build-tsan none $? "" $((SECONDS - started))
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$REPO/tests/tsan.supp"
  started=$SECONDS
  ctest --preset tsan --parallel 2 -R "$TSAN_UNIT_REGEX" --output-junit "$KR_RESULTS/tsan-unit.xml"
  record tsan-unit junit $? "$KR_RESULTS/tsan-unit.xml" $((SECONDS - started))
  started=$SECONDS
  # The whole subset, the slow tests included (CI leaves those out).
  KAITO_RAG_E2E_READY_TIMEOUT=60 KAITO_RAG_BIN="$REPO/build/tsan/src/kaito-rag" .venv/bin/python -m pytest -q -rsx \
    -p no:cacheprovider --junitxml="$KR_RESULTS/tsan-e2e.xml" "${TSAN_E2E_TESTS[@]}" -m "not real_model"
  record tsan-e2e junit $? "$KR_RESULTS/tsan-e2e.xml" $((SECONDS - started))
  unset TSAN_OPTIONS
fi

if [[ " $PARTS " == *" soak "* ]]; then
  log "soak: 10 minutes of mixed load, RSS every 10 s"
  started=$SECONDS
  model="$(scripts/fetch_models.sh)/all-MiniLM-L6-v2"
  encoder=()
  if [ -d "$model" ]; then encoder=(--server-arg="--embedding-model=$model" --server-arg=--embedding-threads=1); fi
  python3 bench/soak.py --binary "$REPO/build/release/src/kaito-rag" "${encoder[@]}" --json >"$KR_RESULTS/soak.json"
  record soak none $? "" $((SECONDS - started))
fi

python3 scripts/test_report.py table
