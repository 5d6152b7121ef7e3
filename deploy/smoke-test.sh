#!/usr/bin/env bash
# End-to-end smoke test of a running Kaito-RAG through its public endpoint:
#   1. /healthz and /readyz answer without a key;
#   2. an API route WITHOUT a key is refused with 401 (authentication is really on);
#   3. the sample documents are uploaded with the key;
#   4. one question is asked with the key and the answer is printed with its sources.
#
#   KAITO_RAG_API_KEY=... deploy/smoke-test.sh URL [COLLECTION] [DOCS_DIR]
#
# The key comes from the environment (never from argv, where `ps` would show it).
# Used by scripts/deploy, and by tests/deploy/run.sh against a local server.
#   SMOKE_QUESTION      question to ask (default: the vacation question of samples/handbook)
#   SMOKE_CURL_OPTS     extra curl options, e.g. "--cacert ca.pem" (split on spaces)
#   SMOKE_EXPECT_MODE   generative|extractive|any (default any): fail unless the answer mode matches
set -euo pipefail

die() { printf 'smoke-test: FAILED: %s\n' "$*" >&2; exit 1; }
log() { printf 'smoke-test: %s\n' "$*" >&2; }

[ $# -ge 1 ] || die "usage: KAITO_RAG_API_KEY=... $0 URL [COLLECTION] [DOCS_DIR]"
url="${1%/}"
collection="${2:-default}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docs_dir="${3:-$repo_root/samples/handbook}"
question="${SMOKE_QUESTION:-How many days of paid vacation do new employees get?}"
expect_mode="${SMOKE_EXPECT_MODE:-any}"
[ -n "${KAITO_RAG_API_KEY:-}" ] || die "KAITO_RAG_API_KEY is not set"
command -v curl >/dev/null || die "curl is not installed"
command -v python3 >/dev/null || die "python3 is not installed (used to read the JSON answers)"
[ -d "$docs_dir" ] || die "no documents directory $docs_dir"

read -r -a extra_opts <<<"${SMOKE_CURL_OPTS:-}"
curl_base=(curl -sS --connect-timeout 10 --max-time 300 "${extra_opts[@]}")
# The key goes to curl through a config file on a private descriptor, not through argv.
auth_config() { printf 'header = "Authorization: Bearer %s"\n' "$KAITO_RAG_API_KEY"; }

status_of() { "${curl_base[@]}" -o /dev/null -w '%{http_code}' "$@" || true; }

code="$(status_of "$url/healthz")"
[ "$code" = "200" ] || die "GET $url/healthz answered '$code' (expected 200)"
code="$(status_of "$url/readyz")"
[ "$code" = "200" ] || die "GET $url/readyz answered '$code' (expected 200: the server is not ready)"
log "health and readiness OK"

code="$(status_of "$url/v1/collections")"
[ "$code" = "401" ] || die "GET $url/v1/collections without an API key answered '$code'; expected 401 (authentication must be on)"
code="$(status_of -H 'Authorization: Bearer definitely-not-a-valid-key' "$url/v1/collections")"
[ "$code" = "401" ] || die "GET $url/v1/collections with a wrong API key answered '$code'; expected 401"
log "unauthenticated and wrong-key requests are refused (401)"

files=()
while IFS= read -r -d '' f; do files+=(-F "file=@$f"); done < <(find "$docs_dir" -maxdepth 1 -type f -print0 | sort -z)
[ ${#files[@]} -gt 0 ] || die "no files in $docs_dir"
log "uploading $(( ${#files[@]} / 2 )) documents from $docs_dir to collection '$collection'"
upload="$("${curl_base[@]}" -K <(auth_config) -w '\n%{http_code}' "${files[@]}" "$url/v1/collections/$collection/documents")" ||
  die "upload request failed"
code="${upload##*$'\n'}"
[ "$code" = "200" ] ||
  die "upload answered $code: ${upload%$'\n'*}"

log "asking: $question"
body="$(python3 -c 'import json,sys; print(json.dumps({"question": sys.argv[1]}))' "$question")"
answer="$("${curl_base[@]}" -K <(auth_config) -w '\n%{http_code}' -H 'Content-Type: application/json' \
  -d "$body" "$url/v1/collections/$collection/ask")" || die "ask request failed"
code="${answer##*$'\n'}"
[ "$code" = "200" ] || die "ask answered $code: ${answer%$'\n'*}"

printf '%s' "${answer%$'\n'*}" | python3 -c '
import json, sys
expect = sys.argv[1]
a = json.load(sys.stdin)
if not a.get("answer", "").strip():
    sys.exit("smoke-test: FAILED: empty answer: %r" % a)
if not a.get("sources"):
    sys.exit("smoke-test: FAILED: answer without sources: %r" % a)
mode = a.get("mode", "?")
if expect != "any" and mode != expect:
    sys.exit("smoke-test: FAILED: answer mode is %s, expected %s (is the model server reachable?)" % (mode, expect))
print("\n" + a["answer"].strip() + "\n")
print("(%s)" % ("answered by " + a.get("model", "?") if mode == "generative" else a.get("note", "extractive answer")))
for s in a["sources"]:
    c = s.get("citation", {})
    print("  [%s] %s" % (s.get("number"), c.get("document", "?")))
' "$expect_mode"
log "OK"
