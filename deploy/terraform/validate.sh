#!/usr/bin/env bash
# `terraform init` + `terraform validate` of every configuration under deploy/terraform against
# the real providers, without the Terraform registry (not reachable from here or from CI):
# each provider is built with Go from its source (dependencies from the Go module proxy) into a
# local filesystem mirror, and Terraform installs it from there (`init -plugin-dir`).
#
#   deploy/terraform/validate.sh                 build what is missing (cached), validate, write the record
#   deploy/terraform/validate.sh --no-build      validate with the cached providers only (exit 3 if absent)
#   deploy/terraform/validate.sh --have-providers  exit 0 when every pinned provider is cached
#   deploy/terraform/validate.sh --check-record  the committed record matches today's *.tf and says valid
#
# The record (deploy/terraform/validate.record) holds the Terraform and provider versions, the
# sha256 of the *.tf files and the validate output; tests/deploy/run.sh re-checks it, so a change
# to any *.tf without re-running this script fails the deploy checks.
#
# Cold build: azurerm is large (about 40-60 CPU-minutes; GOMAXPROCS=1 and nice 19 by default so it
# does not starve other work). Caches: KR_TF_CACHE (default ~/.cache/kaito-rag/tf-validate) holds
# GOMODCACHE, GOCACHE and the mirror.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
RECORD="$HERE/validate.record"
CACHE="${KR_TF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/tf-validate}"
MIRROR="$CACHE/mirror"
TOOLS_BIN="${KR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/tools}/bin"
PLATFORM=linux_amd64

# name | version Terraform sees | how it is built
#   proxy <module>@<version>: `go install` from the Go module proxy
#   git <checkout dir name> <tag> <commit>: `go build` of that tag of a clone in $KR_TF_SOURCES
#     (the proxy serves only random v1.3.1/v2.0.0 and azuread v1.6.0, far older than the pins)
# azurerm: the proxy's only current build is this pseudo-version (azurerm's v4/v5 tags are not
# valid Go module versions); its CHANGELOG tops at 5.2.0 (2026-08-20), committed 2026-08-24.
PROVIDERS=(
  "azurerm|5.2.0|proxy github.com/hashicorp/terraform-provider-azurerm@v1.44.1-0.20260824201233-fae580791926"
  "azuread|3.9.0|git terraform-provider-azuread v3.9.0 df2a07a337129119e0a267925ea8a63e841d1a19"
  "random|3.9.0|git terraform-provider-random v3.9.0 f8d869dc98d90785f6c8f7131081fa5ef88f9d95"
  "time|0.14.2|proxy github.com/hashicorp/terraform-provider-time@v0.14.2"
)
SOURCES="${KR_TF_SOURCES:-$CACHE/sources}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31m!!! %s\033[0m\n' "$*" >&2; exit "${2:-1}"; }

# Configurations: every directory under deploy/terraform holding *.tf (modules included).
configurations() {
  find "$HERE" -name '*.tf' -not -path '*/.terraform/*' -printf '%h\n' | sort -u
}

# sha256 over every *.tf (relative path, then content), in a fixed order.
tf_hash() {
  local f
  (cd "$HERE" && find . -name '*.tf' -not -path '*/.terraform/*' | LC_ALL=C sort | while read -r f; do
    printf '%s\n' "$f"
    cat "$f"
  done) | sha256sum | cut -d' ' -f1
}

binary_path() { # name version
  echo "$MIRROR/registry.terraform.io/hashicorp/$1/$2/$PLATFORM/terraform-provider-$1_v$2"
}

have_providers() {
  local row name version how
  for row in "${PROVIDERS[@]}"; do
    IFS='|' read -r name version how <<<"$row"
    [ -x "$(binary_path "$name" "$version")" ] && [ "$(cat "$(binary_path "$name" "$version").source" 2>/dev/null)" = "$how" ] || return 1
  done
}

terraform_bin() {
  if [ ! -x "$TOOLS_BIN/terraform" ]; then
    log "terraform not in $TOOLS_BIN: scripts/setup_deploy_tools.sh installs it from the Go module proxy"
    "$REPO/scripts/setup_deploy_tools.sh" >&2 || true
  fi
  [ -x "$TOOLS_BIN/terraform" ] || die "terraform is not installed (scripts/setup_deploy_tools.sh)"
  echo "$TOOLS_BIN/terraform"
}

go_env() {
  export GOMODCACHE="$CACHE/gomod" GOCACHE="$CACHE/gobuild" GOTOOLCHAIN=local
  export GOMAXPROCS="${KR_TF_GOMAXPROCS:-1}" GOFLAGS="-buildvcs=false -p=${KR_TF_GOMAXPROCS:-1}"
}

build_provider() { # name version how
  local name="$1" version="$2" how="$3" out start kind
  out="$(binary_path "$name" "$version")"
  if [ -x "$out" ] && [ "$(cat "$out.source" 2>/dev/null)" = "$how" ]; then
    log "$name $version: cached"
    return 0
  fi
  mkdir -p "$(dirname "$out")"
  go_env
  start="$(date +%s)"
  read -r kind _ <<<"$how"
  if [ "$kind" = proxy ]; then
    local module
    read -r _ module <<<"$how"
    log "$name $version: go install $module (nice 19, GOMAXPROCS=$GOMAXPROCS)"
    local gobin="$CACHE/gobin/$name"
    mkdir -p "$gobin"
    GOBIN="$gobin" nice -n 19 go install -trimpath -ldflags="-s -w" "$module"
    mv "$gobin/terraform-provider-$name" "$out"
  else
    local dir tag commit checkout src
    read -r _ dir tag commit <<<"$how"
    checkout="$SOURCES/$dir"
    [ -d "$checkout/.git" ] || [ -f "$checkout/HEAD" ] ||
      die "$name $version: no clone of github.com/hashicorp/$dir in $checkout (KR_TF_SOURCES); the Go module proxy does not serve this release"
    [ "$(git -C "$checkout" rev-parse "$tag^{commit}")" = "$commit" ] || die "$name: $tag in $checkout is not commit $commit"
    src="$CACHE/src/$dir-$tag"
    rm -rf "$src" && mkdir -p "$src"
    git -C "$checkout" archive "$commit" | tar -x -C "$src"
    log "$name $version: go build of $dir $tag ($commit), dependencies from the Go module proxy"
    (cd "$src" && nice -n 19 go build -trimpath -ldflags="-s -w" -o "$out" .)
  fi
  echo "$how" >"$out.source"
  log "$name $version built in $(($(date +%s) - start)) s"
}

# validate_all TERRAFORM OUTFILE: init + validate every configuration in a scratch copy.
validate_all() {
  local tf="$1" outfile="$2" work status=0 config rel
  work="$(mktemp -d)"
  # shellcheck disable=SC2064  # expand now: the path is local
  trap "rm -rf '$work'" RETURN
  # No CLI configuration from the environment (it could point at the registry or elsewhere).
  : >"$work/terraformrc"
  export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
  unset TF_PLUGIN_CACHE_DIR
  : >"$outfile"
  while read -r config; do
    rel="${config#"$REPO"/}"
    rm -rf "$work/cfg" && cp -r "$config" "$work/cfg" && rm -rf "$work/cfg/.terraform" "$work/cfg/.terraform.lock.hcl"
    if ! (cd "$work/cfg" && "$tf" init -backend=false -input=false -no-color -plugin-dir="$MIRROR" >"$work/init.log" 2>&1); then
      { echo "config $rel: terraform init FAILED"; sed 's/^/  /' "$work/init.log"; } >>"$outfile"
      status=1
      continue
    fi
    if (cd "$work/cfg" && "$tf" validate -no-color >"$work/validate.log" 2>&1); then
      echo "config $rel: valid" >>"$outfile"
    else
      echo "config $rel: INVALID" >>"$outfile"
      status=1
    fi
    sed -e 's/[[:space:]]*$//' -e '/^$/d' -e 's/^/  /' "$work/validate.log" >>"$outfile"
  done < <(configurations)
  return "$status"
}

versions() { # the lines of the record that name what was used
  local tf="$1" row name version how
  echo "terraform $("$tf" version | head -n1 | awk '{print $2}') (go install github.com/hashicorp/terraform@$(cat "$TOOLS_BIN/.terraform.version" 2>/dev/null || echo '?'))"
  for row in "${PROVIDERS[@]}"; do
    IFS='|' read -r name version how <<<"$row"
    echo "provider hashicorp/$name $version ($how)"
  done
}

check_record() {
  [ -f "$RECORD" ] || die "no $RECORD: run deploy/terraform/validate.sh"
  local want got
  want="$(sed -n 's/^tf_sha256 //p' "$RECORD")"
  got="$(tf_hash)"
  [ "$want" = "$got" ] ||
    die "deploy/terraform/*.tf changed since the last validation (record $want, now $got): re-run validate.sh (deploy/terraform/validate.sh) and commit validate.record"
  grep -q '^result: valid$' "$RECORD" || die "$RECORD does not say 'result: valid': fix the errors it lists and re-run validate.sh"
  local row name version
  for row in "${PROVIDERS[@]}"; do
    IFS='|' read -r name version _ <<<"$row"
    grep -q "^provider hashicorp/$name $version " "$RECORD" || die "$RECORD was not made with $name $version (the pins in validate.sh changed): re-run validate.sh"
  done
  echo "record matches: $(grep -c '^config .*: valid$' "$RECORD") configuration(s) valid with $(grep -c '^provider ' "$RECORD") providers"
}

case "${1:-}" in
  --check-record)
    check_record
    exit 0
    ;;
  --have-providers)
    have_providers
    exit $?
    ;;
  --print-hash)
    tf_hash
    exit 0
    ;;
  --no-build)
    have_providers || die "providers not cached in $MIRROR: run deploy/terraform/validate.sh to build them" 3
    TF="$(terraform_bin)"
    out="$(mktemp)"
    status=0
    validate_all "$TF" "$out" || status=$?
    cat "$out"
    rm -f "$out"
    exit "$status"
    ;;
  "") ;;
  *)
    sed -n '2,17p' "$0"
    exit 2
    ;;
esac

command -v go >/dev/null || die "Go is needed to build the providers (scripts/setup_deploy_tools.sh installs one)"
TF="$(terraform_bin)"
for row in "${PROVIDERS[@]}"; do
  IFS='|' read -r name version how <<<"$row"
  build_provider "$name" "$version" "$how"
done
out="$(mktemp)"
status=0
validate_all "$TF" "$out" || status=$?
{
  echo "# Written by deploy/terraform/validate.sh (terraform init + validate against real providers built"
  echo "# from source); tests/deploy/run.sh re-checks tf_sha256 against deploy/terraform/*.tf."
  echo "tf_sha256 $(tf_hash)"
  versions "$TF"
  cat "$out"
  [ "$status" -eq 0 ] && echo "result: valid" || echo "result: INVALID"
} >"$RECORD"
rm -f "$out"
cat "$RECORD"
exit "$status"
