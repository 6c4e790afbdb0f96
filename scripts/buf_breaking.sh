#!/usr/bin/env bash
# Fails when the contracts in the working tree break wire or source compatibility with an
# earlier commit: by default the merge base with main on a branch, else HEAD~1 on main.
# Usage: scripts/buf_breaking.sh [GIT_REF]   (or BUF_BREAKING_AGAINST=<ref>)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
buf="${BUF:-$repo_root/observer/node_modules/.bin/buf}"
if [[ ! -x "$buf" ]]; then
    echo "error: $buf is missing; run 'npm ci' in observer/ (or 'make install')" >&2
    exit 1
fi
cd "$repo_root"

against_ref="${1:-${BUF_BREAKING_AGAINST:-}}"
if [[ -n "$against_ref" ]] && ! git rev-parse --verify --quiet "$against_ref^{commit}" >/dev/null; then
    echo "error: '$against_ref' is not a commit here; give a branch, tag or commit id" >&2
    exit 2
fi
if [[ -z "$against_ref" ]]; then
    branch="$(git rev-parse --abbrev-ref HEAD)"
    if [[ "$branch" != "main" ]] && git rev-parse --verify --quiet main >/dev/null; then
        against_ref="$(git merge-base HEAD main)"
    else
        against_ref="HEAD~1"
    fi
fi
if ! against_commit="$(git rev-parse --verify --quiet "$against_ref^{commit}")"; then
    echo "buf breaking: no commit '$against_ref' to compare with; nothing to check."
    exit 0
fi
if [[ -z "$(git ls-tree -d "$against_commit" proto/emergence/v1)" ]]; then
    echo "buf breaking: ${against_commit:0:12} has no contracts yet; nothing to check."
    exit 0
fi

# The earlier commit may predate buf.yaml and never holds the git-ignored google/api copy,
# so export its proto/ next to today's buf.yaml and a fresh third_party/ copy.
earlier="$(mktemp -d)"
trap 'rm -rf "$earlier"' EXIT
git archive "$against_commit" proto | tar -x -C "$earlier"
cp buf.yaml "$earlier/buf.yaml"
bash scripts/third_party.sh "$earlier" >/dev/null
bash scripts/third_party.sh "$repo_root" >/dev/null

"$buf" breaking . --against "$earlier"
echo "buf breaking: no breaking change against ${against_commit:0:12} ($against_ref)"
