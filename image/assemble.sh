#!/usr/bin/env bash
# The disk image from $WORK/bootfs and $WORK/rootfs, without loop devices or mounts: each
# file system is made in a file of its own (mkfs.vfat -C + mcopy, mke2fs -d), an MBR table
# is written with sfdisk (the Pi's boot ROM reads MBR, not GPT) and the two are copied in
# with dd conv=notrunc,sparse. Output: $WORK/$NAME.img (sparse).
#   p1  FAT32 "RASPIFIRM"  256 MiB from 4 MiB   /boot/firmware: firmware, kernel, piha.yaml
#   p2  ext4  "RASPIROOT"  the tree + slack     /, grown to the whole card at first boot
source "$(dirname "$0")/lib.sh"
need_tools mkfs.vfat mcopy mke2fs sfdisk dd

BOOT_MIB=256
FIRST_MIB=4 # partitions aligned to 4 MiB (SD cards' erase blocks)
img=$WORK/$NAME.img
rm -f "$img" "$WORK/boot.vfat" "$WORK/root.ext4"

# FAT32 (the firmware reads FAT16/32; 32 is what Raspberry Pi OS uses), label RASPIFIRM.
mkfs.vfat -C -F 32 -n RASPIFIRM "$WORK/boot.vfat" $((BOOT_MIB * 1024)) >/dev/null
mcopy -s -p -Q -i "$WORK/boot.vfat" "$WORK"/bootfs/* ::/

# ext4 sized to the tree plus 20 % and 160 MiB: room for the first boot's logs, keys and an
# apt update before the first-boot step grows it to the card. Inodes: one per 8 KiB, since a
# Debian tree has many small files (resize2fs adds more as it grows).
used=$(du -sm "$WORK/rootfs" | cut -f1)
root_mib=$(((used * 12 / 10 + 160 + 3) / 4 * 4))
mke2fs -q -t ext4 -L RASPIROOT -i 8192 -d "$WORK/rootfs" "$WORK/root.ext4" "${root_mib}M"

total_mib=$((FIRST_MIB + BOOT_MIB + root_mib))
truncate -s "${total_mib}M" "$img"
sfdisk --quiet "$img" <<TABLE
label: dos
unit: sectors
start=$((FIRST_MIB * 2048)), size=$((BOOT_MIB * 2048)), type=c, bootable
start=$(((FIRST_MIB + BOOT_MIB) * 2048)), size=$((root_mib * 2048)), type=83
TABLE
dd if="$WORK/boot.vfat" of="$img" bs=1M seek=$FIRST_MIB conv=notrunc,sparse status=none
dd if="$WORK/root.ext4" of="$img" bs=1M seek=$((FIRST_MIB + BOOT_MIB)) conv=notrunc,sparse status=none
rm -f "$WORK/boot.vfat" "$WORK/root.ext4"
log "image: $img, ${total_mib} MiB (root ${root_mib} MiB with ${used} MiB used)"
