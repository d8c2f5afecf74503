#!/usr/bin/env bash
# test.sh runs all of envkit's tests on this machine: go vet and
# golangci-lint (scripts/lint.sh), unit tests, the fuzz targets' seed
# corpora, and the integration tests against a real buildkitd, registry,
# docker buildx and containerd on 127.0.0.1. It installs what they need first
# (scripts/install-deps.sh; root on a fresh Debian machine).
#
# Extra arguments go to `go test`, e.g. scripts/test.sh -run TestDockerSteps ./integration
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH=$PATH:/usr/local/go/bin

scripts/install-deps.sh
go vet ./...
scripts/lint.sh
if [ $# -eq 0 ]; then
	set -- ./...
fi
go test -count=1 -timeout 40m "$@"
