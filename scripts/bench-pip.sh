#!/usr/bin/env bash
# bench-pip.sh resolves the same generated index (internal/pypitest.Generate:
# projects x versions, a realistic dependency fan-out, PEP 658 metadata
# files) with envkit's resolver (pypi/resolve, through
# internal/pypitest/benchpip) and with pip's resolver
# (`pip install --dry-run --report`), side by side, and prints a table: wall
# time, peak memory (max RSS), the ratios, and whether both chose the same
# versions (both answers are valid when they differ: the index has many
# solutions).
#
#   scripts/bench-pip.sh                        # 200 projects x 20 versions
#   ENVKIT_BENCH_PIP_SIZES="50x10 200x20" scripts/bench-pip.sh
#   ENVKIT_BENCH_PIP_MODES=index scripts/bench-pip.sh   # skip --find-links
#   ENVKIT_BENCH_PIP_PACKSE=0 scripts/bench-pip.sh      # skip the packse row
#
# A last row sums the satisfiable packse scenarios (../shared/testdata) that
# pip resolves without building an sdist, each from its own index.
#
# pip reads the index two ways: --index-url file://DIR/ (the simple pages)
# and --no-index --find-links DIR/_files (the files); each is one row. pip is
# the pyenv CPython 3.12's ($ENVKIT_BENCH_PYTHON, default
# ~/.pyenv/versions/3.12.1/bin/python) own pip, or, when it has none, the pip
# of another pyenv CPython put on its path ($ENVKIT_BENCH_PIP_DIR: a
# directory holding the pip package). pip takes minutes at 200 x 20.
set -euo pipefail

main() {
	ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	GO=${GO:-go}
	if ! command -v "$GO" >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		GO=/usr/local/go/bin/go
	fi
	PY=${ENVKIT_BENCH_PYTHON:-$HOME/.pyenv/versions/3.12.1/bin/python}
	[ -x "$PY" ] || die "no python at $PY (set ENVKIT_BENCH_PYTHON)"
	[ -x /usr/bin/time ] || die "/usr/bin/time is needed for the peak memory"
	work=$(mktemp -d /tmp/envkit-bench-pip.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	pipenv=()
	if ! "$PY" -c 'import pip._internal.cli.main, pip._vendor.pkg_resources' >/dev/null 2>&1; then
		pipdir=${ENVKIT_BENCH_PIP_DIR:-}
		if [ -z "$pipdir" ]; then
			# The newest pip that imports on this python (pip 23.0's
			# pkg_resources does not on 3.12).
			for d in $(ls -d "$HOME"/.pyenv/versions/*/lib/python3.*/site-packages | sort -rV); do
				if [ -d "$d/pip" ]; then
					mkdir -p "$work/pip"
					ln -sfn "$d/pip" "$work/pip/pip"
					if PYTHONPATH="$work/pip" "$PY" -c 'import pip._internal.cli.main, pip._vendor.pkg_resources' >/dev/null 2>&1; then
						pipdir=$work/pip
						break
					fi
					rm -f "$work/pip/pip"
				fi
			done
		fi
		[ -n "$pipdir" ] || die "$PY has no pip and no pyenv pip runs on it (set ENVKIT_BENCH_PIP_DIR)"
		pipenv=(env "PYTHONPATH=$pipdir")
	fi
	pyver=$("$PY" -c 'import platform; print(platform.python_version())')
	pipver=$("${pipenv[@]}" "$PY" -m pip --version | cut -d' ' -f2)
	(cd "$ROOT" && "$GO" build -o "$work/benchpip" ./internal/pypitest/benchpip)

	printf '%-26s %10s %10s %8s %10s %10s %7s  %s\n' case envkit_s pip_s ratio envkit_MB pip_MB ratio same
	for size in ${ENVKIT_BENCH_PIP_SIZES:-200x20}; do
		dir=$work/index-$size
		"$work/benchpip" -projects "${size%x*}" -versions "${size#*x}" write "$dir"
		for mode in ${ENVKIT_BENCH_PIP_MODES:-index find-links}; do
			compare "$size $mode" "$mode" "$dir"
		done
	done
	if [ "${ENVKIT_BENCH_PIP_PACKSE:-1}" = 1 ]; then
		# The satisfiable packse scenarios pip resolves without building an
		# sdist, one after the other: the sums, the largest peaks.
		"$work/benchpip" packse "$work/packse" "$ROOT"/../shared/testdata/pypi/packse/*/*.toml
		n=0
		: >"$work/packse.rows"
		for dir in "$work"/packse/*/; do
			compare "" index "${dir%/}" >>"$work/packse.rows"
			n=$((n + 1))
		done
		awk -v n="$n" '{ e += $1; p += $2; if ($3 > em) em = $3; if ($4 > pm) pm = $4; if ($5 == "yes") same++ }
			END { printf "%-26s %10.2f %10.2f %7.0fx %10d %10d %6.0fx  %d of %d the same\n", "packse (" n " scenarios)", e, p, p / (e > 0 ? e : 0.01), em / 1024, pm / 1024, pm / (em > 0 ? em : 1), same, n }' "$work/packse.rows"
	fi
	printf 'envkit: pypi/resolve; pip %s on CPython %s (%s)\n' "$pipver" "$pyver" "$PY"
}

# compare LABEL MODE DIR resolves DIR/requirements.txt with envkit and with
# pip (MODE: index or find-links) and prints a table row, or, with no LABEL,
# the raw figures: envkit_s pip_s envkit_KB pip_KB same.
compare() {
	local label=$1 mode=$2 dir=$3 src ek_s ek_kb pip_s pip_kb same n
	read -r ek_s ek_kb < <(measure "$work/envkit.txt" "$work/benchpip" -python "$pyver" resolve "$dir")
	case $mode in
	index) src=(--index-url "file://$dir/") ;;
	find-links) src=(--no-index --find-links "$dir/_files") ;;
	*) die "unknown mode $mode (index, find-links)" ;;
	esac
	read -r pip_s pip_kb < <(measure /dev/null "${pipenv[@]}" "$PY" -m pip install --dry-run --ignore-installed \
		--report "$work/report.json" -q --disable-pip-version-check --no-cache-dir "${src[@]}" -r "$dir/requirements.txt")
	"$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("\n".join(sorted(i["metadata"]["name"].lower() + "==" + i["metadata"]["version"] for i in r["install"])))' \
		"$work/report.json" >"$work/pip.txt"
	same=no
	cmp -s "$work/pip.txt" "$work/envkit.txt" && same=yes
	if [ -z "$label" ]; then
		echo "$ek_s $pip_s $ek_kb $pip_kb $same"
		return
	fi
	n=$(wc -l <"$work/envkit.txt")
	printf '%-26s %10s %10s %7sx %10s %10s %6sx  %s (%s packages)\n' "$label" "$ek_s" "$pip_s" \
		"$(ratio "$pip_s" "$ek_s")" "$((ek_kb / 1024))" "$((pip_kb / 1024))" "$(ratio "$pip_kb" "$ek_kb")" "$same" "$n"
}

# measure OUT CMD... runs CMD with its stdout in OUT (its stderr kept for a
# failure) and prints its wall time in seconds and its peak RSS in KB.
measure() {
	local out=$1
	shift
	local t
	t=$(mktemp)
	if ! /usr/bin/time -o "$t" -f '%e %M' "$@" >"$out" 2>"$work/stderr.log"; then
		cat "$work/stderr.log" "$t" >&2
		die "failed: $*"
	fi
	cat "$t"
	rm -f "$t"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) b = 0.01; printf "%.0f", a / b }'; }

die() {
	echo "bench-pip: $*" >&2
	exit 1
}

main "$@"
