#!/usr/bin/env bash
# Builds deploy/docker/Dockerfile's runtime image with podman on a Debian 12 base made here with
# mmdebstrap (from the Debian archive, no registry pull), runs it as its non-root user with a
# read-only root filesystem, and runs deploy/smoke-test.sh against it. Not in CI (minutes).
#   scripts/build_image.sh [--full]
#   default  the build stage is this checkout's build/release/src/kaito-rag (built by scripts/setup.sh
#            on Debian 12, as the build stage does), passed with --build-context build=DIR
#   --full   the whole Dockerfile, build stage included (scripts/setup.sh inside the image: long)
# Needs root; installs podman, buildah, mmdebstrap and runc from Debian when missing.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
FULL=0
[[ ${1:-} == --full ]] && FULL=1
TAG=${KR_IMAGE_TAG:-localhost/kaito-rag:dev}
# RUN steps: "chroot" needs no OCI runtime (crun refuses this VM's hybrid cgroup v1/v2 layout);
# KR_BUILD_ISOLATION=oci where containers run normally.
ISOLATION=${KR_BUILD_ISOLATION:-chroot}
# podman run: runc (crun refuses hybrid cgroups) and limits within this shell's hard limits (podman's
# defaults exceed them, and setrlimit above the hard limit needs CAP_SYS_RESOURCE).
read -r -a RUN_OPTS <<<"${KR_PODMAN_RUN_OPTS:---runtime runc --ulimit nofile=$(ulimit -Hn):$(ulimit -Hn) --ulimit nproc=4096:4096}"
WORK=$(mktemp -d /tmp/kr-image.XXXXXX)
NAME=kr-image-smoke-$$
log() { printf '==> %s\n' "$*" >&2; }
cleanup() { podman rm -f "$NAME" >/dev/null 2>&1 || true; podman volume rm -f "$NAME-data" >/dev/null 2>&1 || true; }
trap cleanup EXIT
# The tools come from Debian (installed here, not by scripts/setup.sh: only this script needs them).
missing=()
for tool in podman buildah mmdebstrap runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 1. The base images the Dockerfile names, made from the Debian archive and tagged under their
#    Docker Hub names so FROM resolves locally (--pull=never below).
base() {  # base NAME VARIANT
  if podman image exists "docker.io/library/debian:$1"; then return; fi
  log "mmdebstrap $2 bookworm -> debian:$1"
  mmdebstrap --variant="$2" --include=ca-certificates bookworm "$WORK/$1.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >"$WORK/mmdebstrap-$1.log" 2>&1
  podman import --change 'CMD ["/bin/bash"]' "$WORK/$1.tar" "docker.io/library/debian:$1" >/dev/null
}
base bookworm-slim minbase

# 2. The image.
if [[ $FULL == 1 ]]; then
  base bookworm apt
  log "podman build (full Dockerfile)"
  podman build --pull=never --isolation "$ISOLATION" --format docker -f "$REPO/deploy/docker/Dockerfile" -t "$TAG" "$REPO"
else
  BIN=${KAITO_RAG_BIN:-$REPO/build/release/src/kaito-rag}
  [[ -x $BIN ]] || { echo "no $BIN: run scripts/setup.sh (or set KAITO_RAG_BIN)" >&2; exit 1; }
  mkdir -p "$WORK/build-stage" "$WORK/context/deploy/docker"
  objcopy --strip-debug "$BIN" "$WORK/build-stage/kaito-rag"  # as the build stage does
  cp -p "$REPO/deploy/docker/healthcheck.sh" "$WORK/context/deploy/docker/"
  log "podman build --target runtime (build stage = $BIN)"
  podman build --pull=never --isolation "$ISOLATION" --format docker --target runtime --build-context "build=$WORK/build-stage" \
    --build-arg "REVISION=$(git -C "$REPO" rev-parse HEAD)" -f "$REPO/deploy/docker/Dockerfile" -t "$TAG" \
    "$WORK/context"
fi
podman image inspect "$TAG" --format 'image {{.Id}}: {{.Size}} bytes, user {{.Config.User}}' >&2

# 3. Every library the binary needs resolves inside the image.
libs=$(podman run "${RUN_OPTS[@]}" --rm --entrypoint /usr/bin/ldd "$TAG" /usr/local/bin/kaito-rag)
unresolved=$(grep "not found" <<<"$libs" || true)
[[ -z $unresolved ]] || { echo "libraries missing in the image:" >&2; echo "$unresolved" >&2; exit 1; }
log "ldd: every library found"

# 4. Run it as the image's user (10001) with a read-only root filesystem and only the data
#    volume writable, then the deploy smoke test through the published port.
KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
podman volume create "$NAME-data" >/dev/null
podman run "${RUN_OPTS[@]}" -d --name "$NAME" --read-only -v "$NAME-data:/data" -p "127.0.0.1:$PORT:8080" \
  -e KAITO_RAG_API_KEYS="$KEY" "$TAG" >/dev/null
[[ $(podman inspect "$NAME" --format '{{.Config.User}}') == 10001:10001 ]] || { echo "not the non-root user" >&2; exit 1; }
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done
uid=$(podman exec "$NAME" awk '/^Uid:/ {print $2}' /proc/1/status)
[[ $uid == 10001 ]] || { echo "the server runs as uid '$uid', not 10001" >&2; exit 1; }
KAITO_RAG_API_KEY="$KEY" "$REPO/deploy/smoke-test.sh" "http://127.0.0.1:$PORT" smoke "$REPO/samples/handbook"
if podman exec "$NAME" touch /usr/local/bin/probe 2>/dev/null; then
  echo "the root filesystem is writable" >&2
  exit 1
fi
log "image $TAG: runs as 10001 on a read-only root filesystem; smoke test passed"
