#!/usr/bin/env bash
# bench-solver.sh measures envkit's conda solver against libsolv side by side
# (bench/solver): same records, same request, both solvers in one run, medians
# of several solves, repodata parsing and loading reported apart.
#
# It installs what it needs when missing (Debian's libsolv-dev and gcc; run as
# root on a fresh machine), builds bench/solver/libsolv/libsolv_bench.c against
# it, and passes its arguments to bench/solver, e.g.
#
#   scripts/bench-solver.sh                     # every problem
#   scripts/bench-solver.sh -run index4 -reps 5
#   scripts/bench-solver.sh -cpuprofile /tmp/envkit.pprof
#   scripts/bench-solver.sh -clock cpu          # CPU time, on a busy machine
#
# The shared fixtures are found at ../shared/testdata beside the project (or
# under $ENVKIT_SHARED, as the tests find them).
set -euo pipefail

main() {
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	CACHE=${ENVKIT_CACHE:-${HOME:-/tmp}/.cache/envkit}
	GO=${GO:-go}
	if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		GO=/usr/local/go/bin/go
	fi
	SHARED=${ENVKIT_SHARED:-$(dirname "$ROOT")/shared}
	log() { printf 'bench-solver: %s\n' "$*" >&2; }
	# shellcheck source=lib/debs.sh
	. "$ROOT/scripts/lib/debs.sh"

	# libsolv-tools brings testsolv, to rerun a kept testcase (-keep DIR) by hand.
	DEB_PACKAGES=(libsolv-dev libsolvext-dev libsolv-tools gcc)
	ensure_debs "${DEB_PACKAGES[@]}"

	# Rebuild the C side when its source or the library changed.
	src=$ROOT/bench/solver/libsolv/libsolv_bench.c
	ver=$(dpkg-query -W -f='${Version}' libsolv-dev)
	bin=$CACHE/bin/libsolv_bench-$(sha256sum "$src" | cut -c1-12)-$ver
	if [ ! -x "$bin" ]; then
		mkdir -p "$(dirname "$bin")"
		log "building $bin"
		gcc -O2 -Wall -Werror -o "$bin.tmp" "$src" -lsolvext -lsolv
		mv "$bin.tmp" "$bin"
	fi

	cd "$ROOT"
	exec "$GO" run ./bench/solver -testdata "$SHARED/testdata" -libsolv "$bin" "$@"
}

main "$@"
