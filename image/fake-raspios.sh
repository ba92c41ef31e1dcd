#!/usr/bin/env bash
# A synthetic stand-in for Raspberry Pi OS Lite 64-bit (the real one cannot be downloaded
# here), with what base-image.sh relies on and checks: an MBR with a FAT32 boot partition
# (config.txt as Raspberry Pi OS writes it, cmdline.txt with root=PARTUUID) and an ext4 root
# with an arm64 userland layout, NetworkManager, its own fstab and unit links. The root is
# nearly full, so adding piha must grow it. Usage: fake-raspios.sh OUT.img
source "$(dirname "$0")/lib.sh"
out=$1
d=$(mktemp -d "$WORK/fake-raspios.XXXXXX")
trap 'rm -rf "$d"' EXIT
mkdir -p "$d/boot" "$d/root"

cat >"$d/boot/config.txt" <<'CFG'
# For more options and information see
# http://rptl.io/configtxt
# Some settings may impact device functionality. See link above for details

# Uncomment some or all of these to enable the optional hardware interfaces
#dtparam=i2c_arm=on
#dtparam=i2s=on
#dtparam=spi=on

# Enable audio (loads snd_bcm2835)
dtparam=audio=on

# Automatically load overlays for detected cameras
camera_auto_detect=1

# Automatically load overlays for detected DSI displays
display_auto_detect=1

# Automatically load initramfs files, if found
auto_initramfs=1

# Enable DRM VC4 V3D driver
dtoverlay=vc4-kms-v3d
max_framebuffers=2

# Don't have the firmware create an initial video= setting in cmdline.txt.
# Use the kernel's default instead.
disable_fw_kms_setup=1

# Run in 64-bit mode
arm_64bit=1

# Disable compensation for displays with overscan
disable_overscan=1

# Run as fast as firmware / board allows
arm_boost=1

[cm4]
# Enable host mode on the 2711 built-in XHCI USB controller.
otg_mode=1

[all]
CFG
echo 'console=serial0,115200 console=tty1 root=PARTUUID=5e3da3da-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot' >"$d/boot/cmdline.txt"
head -c 1048576 /dev/urandom >"$d/boot/kernel8.img"
: >"$d/boot/bcm2711-rpi-4-b.dtb"

r=$d/root
mkdir -p "$r"/{etc/systemd/system/multi-user.target.wants,usr/lib/aarch64-linux-gnu,usr/bin,usr/sbin,home/pi,boot/firmware,var,tmp}
ln -s usr/lib "$r/lib"
ln -s usr/bin "$r/bin"
printf 'PRETTY_NAME="Raspbian GNU/Linux 12 (bookworm)"\nID=raspbian\nVERSION_CODENAME=bookworm\n' >"$r/etc/os-release"
printf 'proc /proc proc defaults 0 0\nPARTUUID=5e3da3da-01 /boot/firmware vfat defaults 0 2\nPARTUUID=5e3da3da-02 / ext4 defaults,noatime 0 1\n' >"$r/etc/fstab"
echo raspberrypi >"$r/etc/hostname"
: >"$r/usr/lib/aarch64-linux-gnu/libc.so.6"
: >"$r/usr/sbin/NetworkManager"
ln -s /usr/lib/systemd/system/ssh.service "$r/etc/systemd/system/multi-user.target.wants/ssh.service"
# Nearly full: 36 MiB of files in a 48 MiB file system (4 MiB of it journal).
{ yes raspios || true; } | head -c $((36 * 1048576)) >"$r/usr/lib/aarch64-linux-gnu/filler.so" # not zeros: those would be holes

mkfs.vfat -C -F 32 -n bootfs "$d/boot.vfat" $((64 * 1024)) >/dev/null 2>&1 # lowercase, as Raspberry Pi OS
mcopy -s -i "$d/boot.vfat" "$d"/boot/* ::/
mke2fs -q -t ext4 -L rootfs -d "$r" "$d/root.ext4" 48M
rm -f "$out"
truncate -s $((4 + 64 + 48))M "$out"
sfdisk --quiet "$out" <<TABLE
label: dos
label-id: 0x5e3da3da
unit: sectors
start=8192, size=131072, type=c
start=139264, size=98304, type=83
TABLE
dd if="$d/boot.vfat" of="$out" bs=1M seek=4 conv=notrunc status=none
dd if="$d/root.ext4" of="$out" bs=1M seek=68 conv=notrunc status=none
