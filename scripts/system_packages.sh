#!/usr/bin/env bash
# Installs the Debian packages `make test` needs (idempotent: nothing happens when all are there).
# docker-compose: `docker-compose config` validates deploy/compose.yaml (no Docker engine needed).
# kubectl: `kubectl kustomize` renders deploy/k8s; taken from Debian's kubernetes-client when the
# machine has no kubectl of its own.
# protoc-gen-swagger: `make proto` generates gateway/openapi.json with it (golang-grpc-gateway).
# chromium: headless browser tests (run reports, the dashboard), driven by playwright-core.
set -euo pipefail

missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v protoc-gen-swagger >/dev/null || missing+=(golang-grpc-gateway)
command -v chromium >/dev/null || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "system packages: missing ${missing[*]}; install them as root (apt-get install -y ${missing[*]})" >&2
    exit 1
fi

echo "system packages: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
