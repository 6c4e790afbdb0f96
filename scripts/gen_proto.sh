#!/usr/bin/env bash
# Generates every binding of the emergence.v1 contracts with one protoc (from grpcio-tools):
# Python + mypy stubs into emergence/v1/, the betterproto2 client SDK into emergence/client/pb/,
# the descriptor set for Envoy's JSON transcoder into
# gateway/emergence.pb, and TypeScript (protoc-gen-es) into observer/src/gen/.
# Usage: scripts/gen_proto.sh [OUT_ROOT]   (default: the repository root)
# Set SKIP_TYPESCRIPT=1 to generate without observer/node_modules (never in CI).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_root="$(mkdir -p "${1:-$repo_root}" && cd "${1:-$repo_root}" && pwd)"
python="${PYTHON:-$repo_root/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"
# protoc-gen-mypy, protoc-gen-mypy_grpc, protoc-gen-python_betterproto2 and the ruff it formats
# its output with live next to the interpreter.
export PATH="$(dirname "$python"):$PATH"

cd "$repo_root"
googleapis_include="$(bash scripts/third_party.sh "$repo_root")"
mapfile -t contract_files < <(cd proto && find emergence -name '*.proto' | LC_ALL=C sort)
protoc=("$python" -m grpc_tools.protoc -I proto -I "$googleapis_include")

# Python: start from an empty folder so a deleted .proto leaves no stale module behind.
python_folder="$out_root/emergence/v1"
mkdir -p "$python_folder"
find "$python_folder" -maxdepth 1 \( -name '*_pb2.py' -o -name '*_pb2.pyi' \
    -o -name '*_pb2_grpc.py' -o -name '*_pb2_grpc.pyi' \) -delete
"${protoc[@]}" --python_out="$out_root" --grpc_python_out="$out_root" \
    --mypy_out=quiet:"$out_root" --mypy_grpc_out=quiet:"$out_root" "${contract_files[@]}"
touch "$python_folder/__init__.py"

# The researcher SDK: betterproto2 dataclasses and async (grpclib) stubs, in a package of its own
# with its own google/ folder, so it never shadows the protobuf runtime's `google` package.
client_folder="$out_root/emergence/client/pb"
rm -rf "$client_folder"
mkdir -p "$client_folder"
# The plugin names every file it writes on stderr; only a failure's output is shown.
if ! plugin_output=$("${protoc[@]}" --python_betterproto2_out="$client_folder" \
    --python_betterproto2_opt=client_generation=async "${contract_files[@]}" 2>&1); then
    echo "$plugin_output" >&2
    exit 1
fi

# Descriptor set for grpc_json_transcoder: imports included so Envoy needs no other file.
mkdir -p "$out_root/gateway"
"${protoc[@]}" --include_imports --descriptor_set_out="$out_root/gateway/emergence.pb" \
    "${contract_files[@]}"

# OpenAPI (Swagger 2.0) for the REST paths, from the google.api.http annotations, with Debian's
# protoc-gen-swagger (package golang-grpc-gateway). It predates proto3 `optional`, which changes
# presence only, not the JSON shape, so it reads a copy of the contracts without the keyword.
swagger_plugin="${PROTOC_GEN_SWAGGER:-$(command -v protoc-gen-swagger || true)}"
if [[ -z "$swagger_plugin" ]]; then
    echo "error: protoc-gen-swagger is missing; run 'make install' (Debian package golang-grpc-gateway)" >&2
    exit 1
fi
swagger_scratch="$(mktemp -d)"
trap 'rm -rf "$swagger_scratch"' EXIT
cp -r proto "$swagger_scratch/proto"
sed -i -E 's/^([[:space:]]+)optional /\1/' "$swagger_scratch"/proto/emergence/v1/*.proto
"$python" -m grpc_tools.protoc -I "$swagger_scratch/proto" -I "$googleapis_include" \
    --plugin=protoc-gen-swagger="$swagger_plugin" \
    --swagger_out=allow_merge=true,merge_file_name=emergence,json_names_for_fields=true:"$swagger_scratch" \
    "${contract_files[@]}"
"$python" scripts/finish_openapi.py "$swagger_scratch/emergence.swagger.json" \
    "$out_root/gateway/openapi.json"

if [[ "${SKIP_TYPESCRIPT:-0}" == "1" ]]; then
    echo "TypeScript skipped (SKIP_TYPESCRIPT=1)" >&2
    exit 0
fi
protoc_gen_es="$repo_root/observer/node_modules/.bin/protoc-gen-es"
if [[ ! -x "$protoc_gen_es" ]]; then
    echo "error: $protoc_gen_es is missing; run 'npm ci' in observer/ (or 'make install')" >&2
    exit 1
fi
typescript_folder="$out_root/observer/src/gen"
rm -rf "$typescript_folder"
mkdir -p "$typescript_folder"
# The google/api files are generated too: the contract files import their descriptors.
"${protoc[@]}" --plugin=protoc-gen-es="$protoc_gen_es" --es_out="$typescript_folder" \
    --es_opt=target=ts,import_extension=js \
    "${contract_files[@]}" google/api/annotations.proto google/api/http.proto
