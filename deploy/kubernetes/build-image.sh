#!/usr/bin/env bash
# Stages the demo image's files and builds it with docker:
#   deploy/kubernetes/build-image.sh [--seed DIR] [TAG]     (default edgecar-demo:0.1.0)
# --seed DIR adds second-state/dapr-wasm's modules (DIR holds events_service.wasm,
# image-api-grayscale.wasm, wasmedge_hyper_server_tflite.wasm, as its build gives them)
# beside the manifests of deploy/kubernetes/seed/, for seed-services.yaml.
# Push the tag to a registry your cluster pulls from, and set it in demo.yaml.
set -euo pipefail
seed=
if [ "${1:-}" = --seed ]; then
  seed=$(cd "$2" && pwd)
  shift 2
fi
cd "$(dirname "$0")/../.."
tag=${1:-edgecar-demo:0.1.0}
if [ -n "$seed" ]; then
  for m in events_service.wasm image-api-grayscale.wasm wasmedge_hyper_server_tflite.wasm; do
    [ -f "$seed/$m" ] || { echo "build-image.sh: $seed/$m is missing" >&2; exit 2; }
  done
fi
scripts/build
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/bin" "$ctx/lib" "$ctx/build"
cp build/edgecar "$ctx/bin/"
cp "$(sed -n 's/^EDGECAR_LITERT_LIBRARY:FILEPATH=//p' build/CMakeCache.txt)" "$ctx/lib/libLiteRt.so"
cp -r build/functions "$ctx/build/functions"
find "$ctx/build/functions" -mindepth 1 ! -name '*.wasm' -prune -exec rm -rf {} +
cp -r demo web "$ctx/"  # demo/models/ holds the MobileNet and its labels
mkdir -p "$ctx/seed"
cp deploy/kubernetes/seed/*.yaml "$ctx/seed/"
[ -z "$seed" ] || cp "$seed"/events_service.wasm "$seed"/image-api-grayscale.wasm \
  "$seed"/wasmedge_hyper_server_tflite.wasm "$ctx/seed/"
cp deploy/kubernetes/Dockerfile "$ctx/"
docker build -t "$tag" "$ctx"
echo "built $tag"
