#!/usr/bin/env bash
# Runs buf lint on proto/ with the rules in buf.yaml (STANDARD minus what the architecture fixes).
# Usage: scripts/buf_lint.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf="${BUF:-$repo_root/observer/node_modules/.bin/buf}"
if [[ ! -x "$buf" ]]; then
    echo "error: $buf is missing; run 'npm ci' in observer/ (or 'make install')" >&2
    exit 1
fi
bash "$repo_root/scripts/third_party.sh" "$repo_root" >/dev/null
cd "$repo_root"
"$buf" lint
echo "buf lint: clean"
