#!/usr/bin/env bash
# Copies the google/api protos used by the REST annotations from the googleapis-common-protos
# package into the git-ignored third_party/googleapis/ folder, so buf can read them offline.
# Usage: scripts/third_party.sh [DESTINATION_ROOT]   (prints the protoc include root it used)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
destination_root="${1:-$repo_root}"
python="${PYTHON:-$repo_root/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"

# google.api is a namespace package, so ask a module inside it for its folder.
if ! include_root="$("$python" -c 'import google.api.annotations_pb2 as m, os
print(os.path.dirname(os.path.dirname(os.path.dirname(m.__file__))))' 2>/dev/null)"; then
    echo "error: googleapis-common-protos is not installed for $python; run 'make install'" >&2
    exit 1
fi

target="$destination_root/third_party/googleapis/google/api"
mkdir -p "$target"
for name in annotations.proto http.proto; do
    cp "$include_root/google/api/$name" "$target/$name"
done
echo "$include_root"
