#!/usr/bin/env bash
# Stages the demo image's files and builds it with docker:
#   deploy/kubernetes/build-image.sh [TAG]     (default edgecar-demo:0.1.0)
# Push the tag to a registry your cluster pulls from, and set it in demo.yaml.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-edgecar-demo:0.1.0}
scripts/build
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/bin" "$ctx/lib" "$ctx/build"
cp build/edgecar "$ctx/bin/"
cp "$(sed -n 's/^EDGECAR_LITERT_LIBRARY:FILEPATH=//p' build/CMakeCache.txt)" "$ctx/lib/libLiteRt.so"
cp -r build/functions "$ctx/build/functions"
find "$ctx/build/functions" -mindepth 1 ! -name '*.wasm' -prune -exec rm -rf {} +
cp -r demo web "$ctx/"  # demo/models/ holds the MobileNet and its labels
cp deploy/kubernetes/Dockerfile "$ctx/"
docker build -t "$tag" "$ctx"
echo "built $tag"
