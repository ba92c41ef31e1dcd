#!/usr/bin/env bash
# The cluster key baked into the image (/etc/piha/authkey, mode 0600): AUTHKEY=FILE to reuse
# an existing cluster's key, else a new one per build, kept beside the image in dist/ so the
# next build of the same cluster can pass it back. Prints the path of the key file to use.
# Usage: key.sh [IMAGE-NAME]   (the key is saved as dist/IMAGE-NAME.authkey)
source "$(dirname "$0")/lib.sh"

out=${OUTDIR:-$DIST}/${1:-$NAME}.authkey
if [ -n "${AUTHKEY:-}" ]; then
	[ -f "$AUTHKEY" ] || die "AUTHKEY=$AUTHKEY: no such file"
	grep -qxE '[[:space:]]*[0-9a-fA-F]{64}[[:space:]]*' "$AUTHKEY" || die "AUTHKEY=$AUTHKEY is not a piha key (64 hex characters, from piha keygen)"
	log "cluster key: $AUTHKEY (AUTHKEY)"
	echo "$AUTHKEY"
	exit 0
fi
mkdir -p "$(dirname "$out")"
node "$DIST/piha" keygen "$out" --force >/dev/null
log "cluster key: NEW, saved as $out — keep it: build the next image of this cluster with AUTHKEY=$out"
echo "$out"
