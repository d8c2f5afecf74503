# debs.sh: shared by envkit's scripts (source it; it defines functions only).

# ensure_debs PACKAGE... installs the Debian packages that are missing, as
# root, running `apt-get update` only when apt knows no candidate for one of
# them yet. It calls `log`, which the sourcing script defines.
ensure_debs() {
	local missing=() p cand need_update=0
	for p in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		log "need root to install ${missing[*]}"
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	for p in "${missing[@]}"; do
		cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')
		if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; fi
	done
	if [ $need_update -eq 1 ]; then
		log "apt-get update"
		apt-get update -qq
	fi
	log "apt-get install ${missing[*]}"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
