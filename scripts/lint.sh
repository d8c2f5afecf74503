#!/usr/bin/env bash
# lint.sh runs golangci-lint (configuration: .golangci.yml) over the tree. The
# pinned version is built from the Go module proxy once and cached under
# ${ENVKIT_CACHE:-$HOME/.cache/envkit}/bin (a few minutes the first time).
#
# Arguments go to `golangci-lint run`, e.g. scripts/lint.sh ./conda/...
set -euo pipefail
GOLANGCI_LINT_VERSION=v2.15.0

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ENVKIT_CACHE:-${HOME:-/tmp}/.cache/envkit}
GO=${GO:-go}
if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	GO=/usr/local/go/bin/go
fi
DIR=$CACHE/bin/golangci-lint-$GOLANGCI_LINT_VERSION
if [ ! -x "$DIR/golangci-lint" ]; then
	echo "lint: building golangci-lint $GOLANGCI_LINT_VERSION (once)" >&2
	mkdir -p "$CACHE/bin"
	tmp=$(mktemp -d "$CACHE/bin/.build.XXXXXX")
	if ! (cd "$ROOT" && GOBIN=$tmp CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$GO" install -trimpath \
		"github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"); then
		rm -rf "$tmp"
		exit 1
	fi
	rm -rf "$DIR"
	mv "$tmp" "$DIR"
fi
if [ $# -eq 0 ]; then
	set -- ./...
fi
cd "$ROOT"
# Several worktrees of one machine may lint at once: wait for the other run
# rather than fail.
exec "$DIR/golangci-lint" run --allow-serial-runners "$@"
