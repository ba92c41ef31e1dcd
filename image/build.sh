#!/usr/bin/env bash
# make image: the SD-card image for every node (image/README.md).
#   make image                              Debian bookworm arm64 image -> dist/piha-<version>-arm64.img.xz
#   BASE_IMAGE=raspios-lite.img make image  piha added to a Raspberry Pi OS Lite image instead
#   AUTHKEY=FILE                            the cluster key to bake in (default: a new one)
source "$(dirname "$0")/lib.sh"
[ -x "$DIST/piha-linux-arm64" ] || die "dist/piha-linux-arm64 missing (make binary)"

if [ -n "${BASE_IMAGE:-}" ]; then
	exec bash "$REPO/image/base-image.sh" "$BASE_IMAGE"
fi

need_tools mmdebstrap mkfs.vfat mcopy mke2fs sfdisk xz bmaptool
[ "$(id -u)" = 0 ] || die "make image needs root (mmdebstrap builds the tree as root; no loop devices or mounts are used)"
t0=$SECONDS # bash counts from this script's start
bash "$REPO/image/binfmt.sh"
key=$(bash "$REPO/image/key.sh")
bash "$REPO/image/rootfs.sh" "$key"
t1=$SECONDS
bash "$REPO/image/assemble.sh"
bash "$REPO/image/publish.sh" "$WORK/$NAME.img" "$NAME"
log "make image: done in $((SECONDS - t0)) s (root file system $((t1 - t0)) s, assembly and compression $((SECONDS - t1)) s)"
log "flash: bmaptool copy dist/$NAME.img.xz /dev/sdX  (then edit piha.yaml on the boot partition, docs/flash-and-go.md)"
[ -n "${AUTHKEY:-}" ] || log "cluster key of this image: $DIST/$NAME.authkey (keep it; AUTHKEY=$DIST/$NAME.authkey make image reuses it)"
