#!/usr/bin/env bash
# The root file system: Debian bookworm arm64 (minbase + packages.list) via mmdebstrap, run
# under qemu-user, then customize.sh lays in piha and the overlays. Output: $WORK/rootfs and,
# moved out of it, $WORK/bootfs (the FAT partition's files). Usage: rootfs.sh KEYFILE
source "$(dirname "$0")/lib.sh"
key=$1

# Never rm -rf a tree with something mounted in it (a killed earlier run could leave /proc).
if [ -d "$WORK/rootfs" ] && findmnt -rno TARGET | grep -q "^$WORK/rootfs/"; then
	die "something is still mounted under $WORK/rootfs; unmount it first"
fi
rm -rf "$WORK/rootfs" "$WORK/bootfs"
mkdir -p "$WORK"

M=$(mirror)
S=$(security_mirror)
pkgs=$(grep -v '^#' "$REPO/image/packages.list" | grep -v '^$' | paste -sd, -)
log "mmdebstrap $SUITE arm64 from $M (+ $S)"

# INITRD=No: the kernel's postinst would otherwise build a MODULES=most initramfs under qemu
# (minutes, twice over via triggers); customize.sh builds one small initramfs instead.
# path-exclude: no man pages, docs (copyright kept) or translations: less to write to the card;
# the rules stay in /etc/dpkg/dpkg.cfg.d, so later apt installs keep them too.
# force-unsafe-io: no fsync per file while building (a crashed build is thrown away anyway);
# customize.sh removes it from the image's dpkg configuration, where a power cut matters.
INITRD=No mmdebstrap \
	--arch=arm64 --variant=minbase --components=main,non-free-firmware \
	--include="$pkgs" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-include=/usr/share/locale/locale.alias' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='force-unsafe-io' \
	--customize-hook="bash '$REPO/image/customize.sh' \"\$1\" '$key'" \
	"$SUITE" "$WORK/rootfs" \
	"deb $M $SUITE main non-free-firmware" \
	"deb $M $SUITE-updates main non-free-firmware" \
	"deb $S $SUITE-security main non-free-firmware"

# The FAT partition's files leave the root tree; /boot/firmware stays as its mount point.
mv "$WORK/rootfs/boot/firmware" "$WORK/bootfs"
mkdir -m 755 "$WORK/rootfs/boot/firmware"
log "root file system: $(du -sm "$WORK/rootfs" | cut -f1) MiB, boot files: $(du -sm "$WORK/bootfs" | cut -f1) MiB"
