#!/usr/bin/env bash
# Regenerates every binding into a temporary folder and fails, naming the files, when the
# committed generated code differs from what the .proto files produce.
# Usage: scripts/check_generated.sh   (SKIP_TYPESCRIPT=1 leaves out observer/src/gen)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

bash "$repo_root/scripts/gen_proto.sh" "$scratch" >/dev/null

generated_paths=(emergence/v1 gateway/emergence.pb gateway/openapi.json)
[[ "${SKIP_TYPESCRIPT:-0}" == "1" ]] || generated_paths+=(observer/src/gen)

list_files() {
    local root="$1" path
    for path in "${generated_paths[@]}"; do
        [[ -e "$root/$path" ]] || continue
        (cd "$root" && find "$path" -type f \( -name '*_pb2*.py*' -o -name '__init__.py' \
            -o -name '*.pb' -o -name 'openapi.json' -o -name '*_pb.ts' \))
    done | LC_ALL=C sort
}

differences=()
while IFS= read -r path; do
    if [[ ! -f "$repo_root/$path" ]]; then
        differences+=("missing in the repository: $path")
    elif [[ ! -f "$scratch/$path" ]]; then
        differences+=("no longer generated (stale): $path")
    elif ! cmp -s "$repo_root/$path" "$scratch/$path"; then
        differences+=("differs: $path")
    fi
done < <(cat <(list_files "$repo_root") <(list_files "$scratch") | LC_ALL=C sort -u)

if ((${#differences[@]})); then
    printf '%s\n' "${differences[@]}" >&2
    echo "Generated code is out of date: run 'make proto' and commit the result." >&2
    exit 1
fi
echo "Generated code matches proto/."
