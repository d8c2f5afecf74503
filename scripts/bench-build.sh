#!/usr/bin/env bash
# bench-build.sh builds conda environments of real size on the real stack
# (integration BenchmarkCondaBuildLarge: cold, unchanged, one small package
# changed, one large package changed, base patched) once, beside the floor
# (the same packages fetched and linked by envkit's linker in one process),
# and prints a table: wall time, bytes the registry stored, the ideal (the
# changed payload), their ratio, the wall time over the floor's, and the
# part of the wall time BuildKit spent compressing and pushing layers, and
# the CPU time (user + system) of the stack's processes (buildkitd, its
# execs, the registry) or of the floor, beside the floor's. The real-* cases
# build the same environment with compressible payloads (as shared
# libraries compress) under three layer compressions
# (ENVKIT_BENCH_COMPRESSIBLE=0 skips them). Two rows take a cold build
# apart: fetches is buildkitd fetching the packages alone, each into a
# snapshot of its own by its sha256 (what one content-addressed source per
# package costs, with no exec, no merge and no export), and cold-build is the whole
# cold build left in BuildKit's cache, neither compressed nor pushed. On
# ext4 without a journal each cold case (and the floor) starts 6 minutes
# after the files before it were deleted (settle in the benchmark: freed
# inodes slow every new file until then), which makes a run long (about
# 80 minutes a size); ENVKIT_BENCH_SETTLE=65s is quicker and noisier.
#
#   scripts/bench-build.sh                          # 600 and 1,000 packages
#   ENVKIT_BENCH_SIZES=200 scripts/bench-build.sh   # one size
#   scripts/bench-build.sh -benchtime 3x            # more builds per case
#
# It needs what the integration tests need (root, scripts/install-deps.sh).
# It is heavy (about 1.5 GB of packages written and built at 1,000): run it
# once, on a machine that is otherwise quiet. The raw go test output is kept
# in $ENVKIT_BENCH_OUT (default a temporary file, named at the end).
set -euo pipefail

main() {
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	GO=${GO:-go}
	if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		GO=/usr/local/go/bin/go
	fi
	out=${ENVKIT_BENCH_OUT:-$(mktemp /tmp/envkit-bench-build.XXXXXX)}
	cd "$ROOT"
	printf 'bench-build: go test -bench CondaBuildLarge (sizes %s), raw output in %s\n' "${ENVKIT_BENCH_SIZES:-600,1000}" "$out" >&2
	if ! "$GO" test -count=1 -run '^$' -bench 'CondaBuildLarge' -benchtime 1x -timeout 6h "$@" ./integration >"$out" 2>&1; then
		tail -n 40 "$out" >&2
		printf 'bench-build: the benchmark failed; output in %s\n' "$out" >&2
		exit 1
	fi
	table <"$out"
	printf '\n(raw output: %s)\n' "$out"
}

# table reads go test -bench output and prints one row per case.
table() {
	awk '
	/^BenchmarkCondaBuildLarge\/n=[0-9]+\/[a-z-]+/ {
		split($1, p, "/"); n = substr(p[2], 3); c = p[3]; sub(/-[0-9]+$/, "", c)
		key = n SUBSEP c
		if (!(n in seen)) { seen[n] = 1; sizes[++ns] = n }
		for (i = 3; i < NF; i += 2) v[key, $(i + 1)] = $i
	}
	function mib(x) { return sprintf("%.1f", x / 1048576) }
	END {
		nc = split("floor fetches cold-build cold unchanged small large patched-base cold-zstd cold-gzip1 real-gzip real-gzip1 real-zstd", cases, " ")
		printf "| packages | case | wall | MiB pushed | MiB ideal | pushed / ideal | wall / floor | export + push | CPU | CPU / floor |\n"
		printf "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
		for (s = 1; s <= ns; s++) {
			n = sizes[s]; floor = v[n, "floor", "ns/op"]; fcpu = v[n, "floor", "cpu-s/op"]
			for (k = 1; k <= nc; k++) {
				c = cases[k]; key = n SUBSEP c
				if (!((key, "ns/op") in v)) continue
				ns_ = v[key, "ns/op"]; ideal = v[key, "ideal-B/op"]
				if (c == "floor") {
					pushed = "(" mib(v[key, "fetched-B/op"]) " fetched)"; ratio = "-"; export = "-"
				} else if (c == "fetches" || c == "cold-build") {
					pushed = "-"; ratio = "-"; export = "-"
				} else {
					pushed = mib(v[key, "pushed-B/op"])
					ratio = ideal > 0 ? sprintf("%.2f×", v[key, "pushed-B/op"] / ideal) : "-"
					export = sprintf("%.1f s", v[key, "export-s/op"])
				}
				rel = floor > 0 ? sprintf("%.2f×", ns_ / floor) : "-"
				cpu = v[key, "cpu-s/op"]
				crel = fcpu > 0 ? sprintf("%.2f×", cpu / fcpu) : "-"
				printf "| %s | %s | %.1f s | %s | %s | %s | %s | %s | %.1f s | %s |\n", n, c, ns_ / 1e9, pushed, mib(ideal), ratio, rel, export, cpu, crel
			}
		}
	}'
}

main "$@"
