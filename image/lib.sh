# Shared by the image scripts (sourced, not run): paths, names, logging, the Debian mirror.
# Everything is built under dist/image-build/, so `make clean` (rm -rf dist) removes it.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$REPO/package.json" | head -n 1)
DIST=$REPO/dist
WORK=${IMAGE_WORK:-$DIST/image-build}
NAME=piha-$VERSION-arm64
SUITE=bookworm # raspi-firmware, linux-image-arm64 and firmware-brcm80211 of Debian 12
export MTOOLS_SKIP_CHECK=1 # mtools: do not refuse a FAT image whose geometry looks odd

# Seconds since the start of the whole build (the scripts call each other).
IMAGE_T0=${IMAGE_T0:-$(date +%s)}
export IMAGE_T0
log() { printf '[image %4ss] %s\n' "$(($(date +%s) - IMAGE_T0))" "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

need_tools() {
	local t missing=()
	for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
	[ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (run: make image-deps)"
}

# The Debian mirror this machine's apt uses (deb822 .sources or one-line sources.list), so
# the build goes where apt may go; MIRROR= and SECURITY_MIRROR= override it.
apt_uri() { # $1: suite to look for, e.g. bookworm or bookworm-security
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$1" '
			/^[ \t]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
			/^URIs:/ { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want) hit = 1 }
			END { if (uri != "" && hit) print uri }' "$f" | head -n 1
	done | head -n 1
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v want="$1" '$1 == "deb" { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == want) print u }' "$f"
	done | head -n 1
}

mirror() {
	local m=${MIRROR:-$(apt_uri "$SUITE" | head -n 1)}
	echo "${m:-http://deb.debian.org/debian}"
}

security_mirror() {
	local m=${SECURITY_MIRROR:-$(apt_uri "$SUITE-security" | head -n 1)}
	echo "${m:-http://deb.debian.org/debian-security}"
}

# Byte offset and size (in 512-byte sectors) of partition $2 of image $1, from its table.
part_start() { sfdisk -J "$1" | node -e 'const t=JSON.parse(require("fs").readFileSync(0)).partitiontable; console.log(t.partitions[+process.argv[1]-1].start)' "$2"; }
part_size() { sfdisk -J "$1" | node -e 'const t=JSON.parse(require("fs").readFileSync(0)).partitiontable; console.log(t.partitions[+process.argv[1]-1].size)' "$2"; }
