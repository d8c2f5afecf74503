#!/usr/bin/env bash
# install-deps.sh installs everything envkit's real-components stack needs on a
# fresh Debian machine (run as root), and is fast when it is all already there:
#
#   - Debian packages: runc (the OCI runtime buildkitd uses), docker-registry
#     (the local OCI distribution registry), busybox-static (the rootfs of
#     the locally built test base images) and containerd (1.6: containerd,
#     ctr and containerd-shim-runc-v2, which the tests start privately to
#     pull and run the images they build; Debian's service is never used)
#     and patchelf (the integration tests make a pyenv CPython relocatable
#     with it, as conda-build does: internal/condatest.CPython);
#   - buildkitd and buildctl at the BuildKit version pinned in go.mod, built
#     from this module's `tool` dependencies (a plain `go install ...@version`
#     is refused because buildkit's go.mod has exclude directives);
#   - the docker buildx CLI plugin at BUILDX_VERSION below.
#
# Binaries are cached under ${ENVKIT_CACHE:-$HOME/.cache/envkit}/bin/<name>-<version>/
# and ${ENVKIT_CACHE}/bin/current/ holds symlinks to the versions this tree
# wants; internal/stack looks there first.
set -euo pipefail

# The buildx version lives here only. Its go.mod must require the BuildKit
# version pinned in our go.mod (v0.38.2 requires buildkit v0.34.2).
BUILDX_VERSION=v0.38.2

# Everything is in main, so bash has parsed the whole file before running any
# of it (editing the script while it runs cannot break a run).
main() {
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	CACHE=${ENVKIT_CACHE:-${HOME:-/tmp}/.cache/envkit}
	GO=${GO:-go}
	if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		GO=/usr/local/go/bin/go
	fi

	log() { printf 'install-deps: %s\n' "$*" >&2; }
	# shellcheck source=lib/debs.sh
	. "$ROOT/scripts/lib/debs.sh"

	# --- Debian packages ---------------------------------------------------------
	DEB_PACKAGES=(runc docker-registry busybox-static containerd patchelf)
	# The docker CLI (a client only: no engine is started) drives buildx. Machines
	# of this project ship one in /usr/local/bin; elsewhere Debian's docker.io
	# provides it (its dockerd is never started).
	if ! command -v docker >/dev/null 2>&1; then
		DEB_PACKAGES+=(docker.io)
	fi
	ensure_debs "${DEB_PACKAGES[@]}"

	# --- Go-built tools ------------------------------------------------------------
	BUILDKIT_VERSION=$(cd "$ROOT" && "$GO" list -m -f '{{.Version}}' github.com/moby/buildkit)
	BK_DIR=$CACHE/bin/buildkit-$BUILDKIT_VERSION
	BX_DIR=$CACHE/bin/buildx-$BUILDX_VERSION
	CUR=$CACHE/bin/current
	mkdir -p "$CACHE/bin"

	# build_into DIR CMD... runs CMD with $OUT set to a scratch dir, then moves the
	# result into DIR atomically, so an interrupted build never leaves half a cache.
	build_into() {
		local dir=$1
		shift
		local tmp
		tmp=$(mktemp -d "$CACHE/bin/.build.XXXXXX")
		if OUT=$tmp "$@"; then
			rm -rf "$dir"
			mv "$tmp" "$dir"
		else
			rm -rf "$tmp"
			return 1
		fi
	}

	build_buildkit() {
		(cd "$ROOT" && CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -o "$OUT/" \
			github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl)
	}

	build_buildx() {
		(cd "$ROOT" && GOBIN=$OUT CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$GO" install -trimpath \
			"github.com/docker/buildx/cmd/buildx@$BUILDX_VERSION")
		mv "$OUT/buildx" "$OUT/docker-buildx"
	}

	if [ ! -x "$BK_DIR/buildkitd" ] || [ ! -x "$BK_DIR/buildctl" ]; then
		log "building buildkitd and buildctl $BUILDKIT_VERSION (a few minutes the first time)"
		build_into "$BK_DIR" build_buildkit
	fi
	if [ ! -x "$BX_DIR/docker-buildx" ]; then
		log "building docker-buildx $BUILDX_VERSION"
		build_into "$BX_DIR" build_buildx
	fi

	mkdir -p "$CUR"
	ln -sfn "$BK_DIR/buildkitd" "$CUR/buildkitd"
	ln -sfn "$BK_DIR/buildctl" "$CUR/buildctl"
	ln -sfn "$BX_DIR/docker-buildx" "$CUR/docker-buildx"

	log "ready: $CUR -> buildkit $BUILDKIT_VERSION, buildx $BUILDX_VERSION"
}

main "$@"
exit
