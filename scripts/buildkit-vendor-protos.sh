#!/bin/sh
# Copies the BuildKit wire definitions vnfpipe speaks into src/buildkit/proto, from a git clone of
# moby/buildkit at the tag embedded by Docker Engine 20.10 (BuildKit v0.8.3). gogoproto options only steer Go
# code generation and do not change the wire, so they are stripped rather than vendoring gogo.proto.
# Usage: scripts/buildkit-vendor-protos.sh <path to moby/buildkit git dir> [rev]
set -eu
GIT_DIR_SRC="$1"
REV="${2:-v0.8.3}"
OUT="$(dirname "$0")/../src/buildkit/proto"
FILES="api/services/control/control.proto api/types/worker.proto solver/pb/ops.proto
session/filesync/filesync.proto session/secrets/secrets.proto session/auth/auth.proto"
FSUTIL="vendor/github.com/tonistiigi/fsutil/types"
for f in $FILES; do
  mkdir -p "$OUT/github.com/moby/buildkit/$(dirname "$f")"
  git --git-dir="$GIT_DIR_SRC" show "$REV:$f" |
    perl -0pe 's/^import "github.com\/gogo\/protobuf\/gogoproto\/gogo.proto";\n//mg; s/^option \(gogoproto\.[^\n]*\n//mg; s/\s*\[\(gogoproto[^\]]*\]//g' \
      >"$OUT/github.com/moby/buildkit/$f"
done
mkdir -p "$OUT/github.com/tonistiigi/fsutil/types"
for f in stat.proto wire.proto; do
  git --git-dir="$GIT_DIR_SRC" show "$REV:$FSUTIL/$f" |
    sed 's#^import "stat.proto";#import "github.com/tonistiigi/fsutil/types/stat.proto";#' \
      >"$OUT/github.com/tonistiigi/fsutil/types/$f"
done
# FileSync.DiffCopy carries fsutil Packets on the wire (BuildKit's Go code sends them through the
# BytesMessage-typed stream); declare that so the generated service has the real message type.
FS="$OUT/github.com/moby/buildkit/session/filesync/filesync.proto"
perl -0pi -e 's/(service FileSync\s*\{\s*rpc DiffCopy\()stream BytesMessage\) returns \(stream BytesMessage\)/$1stream fsutil.types.Packet) returns (stream fsutil.types.Packet)/; s/(option go_package[^\n]*\n)/$1\nimport "github.com\/tonistiigi\/fsutil\/types\/wire.proto";\n/' "$FS"
git --git-dir="$GIT_DIR_SRC" show "$REV:LICENSE" >"$OUT/LICENSE"
