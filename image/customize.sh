#!/usr/bin/env bash
# mmdebstrap --customize-hook: runs on the host with the finished Debian tree as $1 (proc, sys
# and dev mounted by mmdebstrap). Lays in the overlays, the piha binary and the cluster key,
# then runs in-chroot.sh inside the tree (under qemu-user). Usage: customize.sh ROOT KEYFILE
source "$(dirname "$0")/lib.sh"
root=$1
key=$2

# Fast dpkg for the build only (rootfs.sh): not on the Pi, where a power cut during an
# upgrade must not leave empty files.
sed -i '/^force-unsafe-io$/d' "$root"/etc/dpkg/dpkg.cfg.d/*

# overlays/ as they are in git, owned by root (the checkout may belong to anyone).
tar -C "$REPO/overlays" --owner=0 --group=0 -cf - . | tar -C "$root" -xf -
chmod 0440 "$root/etc/sudoers.d/010_piha-first-user" # git keeps no modes beyond +x
install -m 0755 "$DIST/piha-linux-arm64" "$root/usr/bin/piha"
install -d -m 0700 "$root/etc/piha"
install -m 0600 "$key" "$root/etc/piha/authkey"
# mmdebstrap copied the build host's; systemd-resolved serves DNS on the Pi.
rm -f "$root/etc/resolv.conf"
ln -s ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

kver=$(basename "$(ls -1 "$root"/boot/vmlinuz-* | sort -V | tail -n 1)")
kver=${kver#vmlinuz-}
log "in chroot: users, units, initramfs for $kver (qemu-user)"
env -u INITRD KVER="$kver" chroot "$root" /bin/bash -s <"$REPO/image/in-chroot.sh"
