#!/usr/bin/env bash
# mmdebstrap runs the arm64 packages' maintainer scripts on this x86 machine through
# qemu-user: the kernel must hand arm64 ELF files to qemu-aarch64-static (binfmt_misc).
# Containers and CI machines without systemd never register it, so do it here when missing.
# The F flag (from Debian's qemu-user-static file) makes it work inside the chroot too.
source "$(dirname "$0")/lib.sh"

if [ "$(dpkg --print-architecture)" = arm64 ]; then exit 0; fi
if ! mountpoint -q /proc/sys/fs/binfmt_misc; then
	mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (needs root)"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
	conf=/usr/lib/binfmt.d/qemu-aarch64.conf
	[ -f "$conf" ] || die "$conf missing (apt-get install qemu-user-static)"
	cat "$conf" >/proc/sys/fs/binfmt_misc/register
	log "registered qemu-aarch64 with binfmt_misc"
fi
if command -v arch-test >/dev/null && ! arch-test arm64 >/dev/null; then
	die "arm64 binaries do not run here even with binfmt_misc (arch-test arm64)"
fi
