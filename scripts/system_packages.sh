#!/usr/bin/env bash
# Installs the Debian packages `make test` needs (idempotent: nothing happens when all are there).
# docker-compose: `docker-compose config` validates deploy/compose.yaml (no Docker engine needed).
# kubectl: `kubectl kustomize` renders deploy/k8s, which needs kubectl 1.21+ (kustomize v4+). The
# project's machines come with one (google-cloud-cli's); Debian's kubernetes-client (kubectl 1.20)
# is too old, so none is installed here and the deploy tests name what is missing.
# protoc-gen-swagger: `make proto` generates gateway/openapi.json with it (golang-grpc-gateway).
# chromium: headless browser tests (run reports, the dashboard), driven by playwright-core.
set -euo pipefail

command -v kubectl >/dev/null ||
    echo "system packages: no kubectl (1.21 or newer): the deploy/k8s checks will fail" >&2

missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
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
# Another apt run (a second checkout's install, unattended upgrades) may hold the lock: wait for it
# instead of failing the install.
wait_for_lock=(-o DPkg::Lock::Timeout=600)
"${as_root[@]}" apt-get "${wait_for_lock[@]}" update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get "${wait_for_lock[@]}" install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
