#!/usr/bin/env bash
# Shared helpers of scripts/deploy and scripts/destroy (sourced, not run).
# shellcheck disable=SC2034  # variables are used by the scripts that source this file

KR_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KR_TF_DIR="$KR_REPO/deploy/terraform"
KR_CHART="$KR_REPO/deploy/helm/kaito-rag"
KR_RELEASE="${KAITO_RAG_RELEASE:-kaito-rag}"
KR_STATE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/kaito-rag/deploy"

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*" >&2; }
info() { printf '    %s\n' "$*" >&2; }
warn() { printf '\033[1;33m!!! %s\033[0m\n' "$*" >&2; }
die() {
  printf '\033[1;31mERROR: %s\033[0m\n' "$*" >&2
  exit 1
}

# require_tools: every missing prerequisite is reported (not only the first), with how to get it.
require_tools() {
  local missing=0 tool
  declare -A hint=(
    [az]="Azure CLI: https://learn.microsoft.com/cli/azure/install-azure-cli (Debian: curl -sL https://aka.ms/InstallAzureCLIDeb | sudo bash)"
    [kubectl]="az aks install-cli, or https://kubernetes.io/docs/tasks/tools/"
    [helm]="https://helm.sh/docs/intro/install/ (v3.12 or newer)"
    [terraform]="https://developer.hashicorp.com/terraform/install (1.5 or newer)"
    [curl]="apt-get install curl"
    [python3]="apt-get install python3"
  )
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      printf '\033[1;31mmissing prerequisite: %s\033[0m — install it: %s\n' "$tool" "${hint[$tool]:-your package manager}" >&2
      missing=$((missing + 1))
    fi
  done
  [ "$missing" -eq 0 ] || die "$missing prerequisite(s) missing (see above)"
}

# require_login: an Azure CLI session with a subscription selected; exports ARM_SUBSCRIPTION_ID.
require_login() {
  local account
  if ! account="$(az account show --query '{id:id, name:name, user:user.name, tenant:tenantId}' -o tsv 2>/dev/null)"; then
    die "the Azure CLI is not logged in: run 'az login' (and 'az account set --subscription <id>' to pick a subscription)"
  fi
  local id name user tenant
  IFS=$'\t' read -r id name user tenant <<<"$account"
  [ -n "$id" ] || die "no Azure subscription selected: run 'az account set --subscription <id>'"
  export ARM_SUBSCRIPTION_ID="$id"
  info "subscription: $name ($id), signed in as $user, tenant $tenant"
}

tf() { terraform -chdir="$KR_TF_DIR" "$@"; }

tf_output() { # name -> value, or empty when there is no state / no such output
  tf output -raw "$1" 2>/dev/null || true
}

# use_kubeconfig CLUSTER: a private kubeconfig per cluster (the user's ~/.kube/config is left alone).
use_kubeconfig() {
  mkdir -p "$KR_STATE_DIR"
  export KUBECONFIG="$KR_STATE_DIR/kubeconfig-$1"
}
