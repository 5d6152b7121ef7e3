#!/usr/bin/env bash
# Runs the libFuzzer targets (build them first: cmake --preset fuzz && cmake --build --preset fuzz).
# For each target: replay tests/fuzz/regressions/<target>/* (inputs that once crashed; each must
# now pass), then fuzz for --seconds, seeded from ../shared/corpus, tests/fixtures, samples/ and
# tests/fuzz/seeds/<target>. A crash leaves its input in build/fuzz-work/crashes/ and fails the run;
# fix the bug, then copy the input to tests/fuzz/regressions/<target>/ so CI replays it forever.
#
#   tests/fuzz/run.sh [--seconds 13] [--targets "pdf html"] [--counts FILE] [--jobs 1]
# --counts writes {"passed", "failed", "skipped"} for scripts/test_report.py. The corpus each target
# grows is kept in build/fuzz-work/corpus/<target> (a later run continues from it); per-target
# executions and CPU seconds go to build/fuzz-work/stats.tsv.
set -uo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO" || exit 2
SECONDS_PER_TARGET=13
TARGETS="parse_document pdf html markdown csv docx pptx xlsx xlsb text_decode chunker wordpiece sse request_json multipart"
COUNTS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECONDS_PER_TARGET="$2"; shift 2 ;;
    --targets) TARGETS="$2"; shift 2 ;;
    --counts) COUNTS="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
BIN_DIR="$REPO/build/fuzz/tests/fuzz"
WORK="$REPO/build/fuzz-work"
SHARED="${KR_SHARED_DIR:-$REPO/../shared}/corpus"
mkdir -p "$WORK/crashes" "$WORK/corpus" "$WORK/logs"
# Leaks inside system libraries we do not own (fontconfig under poppler): see tests/lsan.supp.
case "${LSAN_OPTIONS:-}" in *suppressions=*) ;; *) export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$REPO/tests/lsan.supp" ;; esac
STATS="$WORK/stats.tsv"
[ -f "$STATS" ] || printf 'date\ttarget\tseconds\texecs\tcpu_seconds\tcorpus\tresult\n' >"$STATS"
PASSED=0
FAILED=()

extensions() { # target -> file extensions of its seeds
  case "$1" in
    parse_document) echo "pdf docx pptx xlsx html htm md csv tsv txt msg" ;;
    pdf) echo "pdf" ;;
    html) echo "html htm" ;;
    markdown) echo "md rst" ;;
    csv) echo "csv tsv" ;;
    docx) echo "docx docm" ;;
    pptx) echo "pptx" ;;
    xlsx) echo "xlsx" ;;
    xlsb) echo "xlsb" ;;
    text_decode) echo "txt md csv" ;;
    chunker | wordpiece) echo "md txt" ;;
    *) echo "" ;;
  esac
}

# Seeds: the smallest 40 matching files (<= 256 KiB) of the corpus and fixtures, as symlinks.
make_seeds() {
  local target="$1" dir="$WORK/seeds/$1" ext args=()
  rm -rf "$dir"
  mkdir -p "$dir"
  [ -d "tests/fuzz/seeds/$target" ] && cp tests/fuzz/seeds/"$target"/* "$dir/"
  for ext in $(extensions "$target"); do args+=(-o -iname "*.$ext"); done
  [ ${#args[@]} -eq 0 ] && return
  local roots=(tests/fixtures samples)
  if [ -d "$SHARED" ]; then
    roots+=("$SHARED")
  elif [ -n "${CI:-}" ]; then
    echo "!!! $SHARED is missing: the fuzz seeds from the shared corpus are required in CI" >&2
    return 1
  fi
  find "${roots[@]}" -type f -size -257k \( "${args[@]:1}" \) -printf '%s %p\n' | sort -n | awk 'NR <= 40' |
    while read -r _ path; do ln -sf "$(realpath "$path")" "$dir/$(echo "$path" | tr '/' '_')"; done
}

for target in $TARGETS; do
  bin="$BIN_DIR/fuzz_$target"
  if [ ! -x "$bin" ]; then
    FAILED+=("fuzz_$target: not built ($bin)")
    continue
  fi
  # 1. regressions
  reg="tests/fuzz/regressions/$target"
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    if "$bin" "$reg"/* >"$WORK/logs/$target-regressions.log" 2>&1; then
      PASSED=$((PASSED + 1))
      echo "  PASS fuzz_$target regressions ($(find "$reg" -type f | wc -l) inputs)"
    else
      FAILED+=("fuzz_$target: a regression input crashes again (log: $WORK/logs/$target-regressions.log)")
      tail -n 30 "$WORK/logs/$target-regressions.log" | sed 's/^/       /'
    fi
  fi
  # 2. fuzz
  if ! make_seeds "$target"; then
    FAILED+=("fuzz_$target: no seeds")
    continue
  fi
  mkdir -p "$WORK/corpus/$target"
  log="$WORK/logs/$target.log"
  cpu_before="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
  started=$SECONDS
  "$bin" -max_total_time="$SECONDS_PER_TARGET" -max_len=262144 -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$WORK/crashes/$target-" \
    "$WORK/corpus/$target" "$WORK/seeds/$target" >"$log" 2>&1
  rc=$?
  cpu_after="$(awk '{print $14 + $15 + $16 + $17}' /proc/$$/stat)"
  cpu=$(((cpu_after - cpu_before) / $(getconf CLK_TCK)))
  execs="$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)"
  corpus="$(find "$WORK/corpus/$target" -type f | wc -l)"
  if [ "$rc" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    result=ok
    printf '  PASS fuzz_%s (%ss, %s execs, corpus %s)\n' "$target" "$((SECONDS - started))" "$execs" "$corpus"
  else
    result="crash"
    artifact="$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n1 | sed 's/Test unit written to //')"
    FAILED+=("fuzz_$target: exit $rc, input ${artifact:-unknown} (log: $log)")
    printf '  FAIL fuzz_%s (exit %s)\n' "$target" "$rc"
    grep -E 'ERROR|SUMMARY|invariant|#[0-9]+ 0x' "$log" | head -n 25 | sed 's/^/       /'
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$((SECONDS - started))" "$execs" "$cpu" \
    "$corpus" "$result" >>"$STATS"
done

echo "fuzz: $PASSED passed, ${#FAILED[@]} failed"
for f in "${FAILED[@]}"; do echo "  - $f"; done
if [ -n "$COUNTS" ]; then
  python3 - "$COUNTS" "$PASSED" "${FAILED[@]}" <<'EOF'
import json, sys
json.dump({"passed": int(sys.argv[2]), "failed": sys.argv[3:], "skipped": []}, open(sys.argv[1], "w"))
EOF
fi
[ ${#FAILED[@]} -eq 0 ]
