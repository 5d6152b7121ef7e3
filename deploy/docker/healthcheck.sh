#!/usr/bin/env bash
# Container HEALTHCHECK for the Kaito-RAG image: GET /healthz on the local server.
# The runtime image has no curl or wget, so this speaks HTTP/1.0 over bash's /dev/tcp.
# Exit 0 when the server answers 200, 1 otherwise (Docker's HEALTHCHECK --timeout bounds a hang).
#   KAITO_RAG_PORT   port to probe (default 8080, the image's default)
set -euo pipefail

port="${KAITO_RAG_PORT:-8080}"
if ! { exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null; then
  echo "unhealthy: nothing listens on 127.0.0.1:${port}" >&2
  exit 1
fi
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
status=""
IFS=$' \t\r' read -r -t 5 _ status _ <&3 || true
exec 3<&-
if [ "$status" = "200" ]; then
  exit 0
fi
echo "unhealthy: /healthz answered '${status:-nothing}'" >&2
exit 1
