#!/bin/sh
# Regenerates src/buildkit/gen from the vendored .proto files (see src/buildkit/proto/README.md).
set -eu
cd "$(dirname "$0")/.."
rm -rf src/buildkit/gen
cat >/tmp/vnfpipe-buf-gen.$$.yaml <<'YAML'
version: v2
inputs:
  - directory: src/buildkit/proto
plugins:
  - local: node_modules/.bin/protoc-gen-es
    out: src/buildkit/gen
    opt: [target=ts, import_extension=js]
YAML
trap 'rm -f /tmp/vnfpipe-buf-gen.$$.yaml' EXIT
npx buf generate --template /tmp/vnfpipe-buf-gen.$$.yaml
