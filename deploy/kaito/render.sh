#!/usr/bin/env bash
# Renders the KAITO manifests in deploy/kaito/templates/ (envsubst-style ${NAME:-default}
# placeholders) and keeps the committed, rendered defaults in deploy/kaito/v1beta1 and
# deploy/kaito/v1alpha1 in sync with them.
#
#   deploy/kaito/render.sh model KEY [API]   a model's Workspace to stdout; API v1beta1 (default) or v1alpha1;
#                                            INSTANCE_TYPE, NAMESPACE, WORKSPACE_NAME, GPU_NODE_LABEL,
#                                            KAITO_RUNTIME from the environment override the model's defaults
#   deploy/kaito/render.sh template FILE     any template to stdout, values from the environment
#   deploy/kaito/render.sh models            the model keys, one per line
#   deploy/kaito/render.sh write             regenerate the committed files from the templates
#   deploy/kaito/render.sh check             fail if a committed file differs from a fresh render
#
# Sourcing the file defines the functions only (scripts/deploy does that).
# Every substituted value must match ^[A-Za-z0-9][A-Za-z0-9._/:-]*$ so a value can never inject
# YAML; a placeholder without a value or default is an error, never an empty string.
set -euo pipefail

KAITO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# All placeholders used by the templates (unset before rendering committed defaults).
KAITO_TEMPLATE_VARS=(WORKSPACE_NAME NAMESPACE KAITO_RUNTIME INSTANCE_TYPE GPU_NODE_LABEL MODEL_PRESET
  INFERENCESET_NAME REPLICAS NODE_COUNT_LIMIT)

# Model catalogue: key -> preset name (KAITO alias, or a Hugging Face id), Workspace name,
# GPU node label. The default GPU SKU is KAITO's documented one for every model below
# (Standard_NC24ads_A100_v4, 1x A100 80 GB); override with INSTANCE_TYPE.
declare -A KAITO_MODEL_PRESET=(
  [phi-3-mini-4k-instruct]=phi-3-mini-4k-instruct
  [phi-3-mini-128k-instruct]=phi-3-mini-128k-instruct
  [mistral-7b-instruct]=mistral-7b-instruct
  [falcon-7b-instruct]=tiiuae/falcon-7b-instruct
)
declare -A KAITO_MODEL_WORKSPACE=(
  [phi-3-mini-4k-instruct]=workspace-phi-3-mini-4k
  [phi-3-mini-128k-instruct]=workspace-phi-3-mini-128k
  [mistral-7b-instruct]=workspace-mistral-7b-instruct
  [falcon-7b-instruct]=workspace-falcon-7b-instruct
)
declare -A KAITO_MODEL_LABEL=(
  [phi-3-mini-4k-instruct]=phi-3-mini-4k
  [phi-3-mini-128k-instruct]=phi-3-mini-128k
  [mistral-7b-instruct]=mistral-7b-instruct
  [falcon-7b-instruct]=falcon-7b-instruct
)
KAITO_MODEL_KEYS=(phi-3-mini-4k-instruct phi-3-mini-128k-instruct mistral-7b-instruct falcon-7b-instruct)
KAITO_DEFAULT_INSTANCE_TYPE=Standard_NC24ads_A100_v4

# Comment block printed above a model's manifest (one line per array element).
kaito_model_notes() {
  case "$1" in
    mistral-7b-instruct)
      echo "# Served model name: mistral-7b-instruct-v0.3 since KAITO v0.11.0 (mistral-7b-instruct before);"
      echo "# Kaito-RAG reads it from GET /v1/models, so nothing needs changing."
      ;;
    falcon-7b-instruct)
      echo "# DEPRECATED: the falcon-7b-instruct preset was removed in KAITO v0.11.0 (the admission"
      echo "# webhook answers \"Unsupported inference preset name falcon-7b-instruct\"). This manifest uses"
      echo "# the generic Hugging Face path instead (any org/model id that vLLM supports, KAITO v0.9.0+),"
      echo "# which KAITO accepts but does not test for Falcon. Prefer a phi-3 or mistral preset; on"
      echo "# KAITO <= v0.10.0 the short preset name \"falcon-7b-instruct\" still works."
      ;;
  esac
}

kaito_die() { printf 'render.sh: %s\n' "$*" >&2; exit 1; }

# render_template FILE: substitute ${NAME} / ${NAME:-default} from the environment.
render_template() {
  local file="$1" line out match name default value rendered="" re='\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}'
  [ -r "$file" ] || kaito_die "cannot read template $file"
  # Output is buffered and printed only when every placeholder resolved, so a failed render
  # never feeds half a manifest into a pipe such as `kubectl apply -f -`.
  while IFS= read -r line || [ -n "$line" ]; do
    out=""
    while [[ $line =~ $re ]]; do
      match="${BASH_REMATCH[0]}"
      name="${BASH_REMATCH[1]}"
      default="${BASH_REMATCH[3]}"
      value="${!name:-$default}"
      [ -n "$value" ] || kaito_die "$file: \${$name} has no value and no default"
      [[ $value =~ ^[A-Za-z0-9][A-Za-z0-9._/:-]*$ ]] ||
        kaito_die "$file: value of $name ('$value') may only contain letters, digits and . _ / : -"
      out+="${line%%"$match"*}${value}"
      line="${line#*"$match"}"
    done
    rendered+="${out}${line}"$'\n'
  done <"$file"
  printf '%s' "$rendered"
}

# render_model KEY [API]: a model's Workspace; environment values win over the model's defaults.
render_model() {
  local key="$1" api="${2:-v1beta1}"
  [ -n "${KAITO_MODEL_PRESET[$key]+x}" ] || kaito_die "unknown model '$key' (known: ${KAITO_MODEL_KEYS[*]})"
  case "$api" in v1beta1 | v1alpha1) ;; *) kaito_die "unknown API version '$api' (v1beta1 or v1alpha1)" ;; esac
  local body
  body="$(MODEL_PRESET="${KAITO_MODEL_PRESET[$key]}" \
    WORKSPACE_NAME="${WORKSPACE_NAME:-${KAITO_MODEL_WORKSPACE[$key]}}" \
    GPU_NODE_LABEL="${GPU_NODE_LABEL:-${KAITO_MODEL_LABEL[$key]}}" \
    INSTANCE_TYPE="${INSTANCE_TYPE:-$KAITO_DEFAULT_INSTANCE_TYPE}" \
    render_template "$KAITO_DIR/templates/workspace.$api.yaml.tpl")"
  kaito_model_notes "$key"
  printf '%s\n' "$body"
}

# The committed files: path relative to deploy/kaito -> how to render it (defaults only).
_render_committed() {
  local dest="$1" api key
  mkdir -p "$dest/v1beta1" "$dest/v1alpha1"
  (
    unset "${KAITO_TEMPLATE_VARS[@]}"
    for api in v1beta1 v1alpha1; do
      for key in "${KAITO_MODEL_KEYS[@]}"; do
        {
          echo "# Rendered by deploy/kaito/render.sh from templates/workspace.$api.yaml.tpl with the defaults"
          echo "# for $key; do not edit (run 'deploy/kaito/render.sh write'). kubectl apply -f this file."
          render_model "$key" "$api"
        } >"$dest/$api/workspace-$key.yaml"
      done
    done
    {
      echo "# Rendered by deploy/kaito/render.sh from templates/inferenceset.v1beta1.yaml.tpl with the"
      echo "# defaults; do not edit (run 'deploy/kaito/render.sh write'). kubectl apply -f this file."
      render_template "$KAITO_DIR/templates/inferenceset.v1beta1.yaml.tpl"
    } >"$dest/v1beta1/inferenceset-phi-3-mini-4k-instruct.yaml"
  )
}

render_main() {
  local cmd="${1:-}"
  case "$cmd" in
    model) [ $# -ge 2 ] || kaito_die "usage: render.sh model KEY [v1beta1|v1alpha1]"; render_model "$2" "${3:-v1beta1}" ;;
    template) [ $# -eq 2 ] || kaito_die "usage: render.sh template FILE"; render_template "$2" ;;
    models) printf '%s\n' "${KAITO_MODEL_KEYS[@]}" ;;
    write) _render_committed "$KAITO_DIR"; echo "rendered into $KAITO_DIR/v1beta1 and $KAITO_DIR/v1alpha1" ;;
    check)
      local tmp status=0
      tmp="$(mktemp -d)"
      _render_committed "$tmp"
      diff -ru "$KAITO_DIR/v1beta1" "$tmp/v1beta1" || status=1
      diff -ru "$KAITO_DIR/v1alpha1" "$tmp/v1alpha1" || status=1
      rm -rf "$tmp"
      [ "$status" -eq 0 ] || kaito_die "committed manifests differ from the templates: run 'deploy/kaito/render.sh write'"
      echo "committed KAITO manifests match the templates"
      ;;
    *) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  render_main "$@"
fi
