#!/usr/bin/env bash
# make image-test, part 1: BASE_IMAGE customisation on a synthetic Raspberry Pi OS image
# (fake-raspios.sh), checked offline with debugfs and mtools; then customised a second time
# to show that a re-run keeps the user's piha.yaml and adds nothing twice.
source "$(dirname "$0")/lib.sh"
need_tools debugfs e2fsck mtype mdir sha256sum
T=$WORK/base-test
rm -rf "$T"
mkdir -p "$T"
bash "$REPO/image/fake-raspios.sh" "$T/raspios-lite.img"
echo "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/authkey"
export OUTDIR=$T/out AUTHKEY=$T/authkey XZ_LEVEL=1
bash "$REPO/image/base-image.sh" "$T/raspios-lite.img"

img=$WORK/base/piha-$VERSION-raspios-lite.img
fails=0
check() {
	if "${@:2}"; then echo "  ok   $1"; else
		echo "  FAIL $1"
		fails=$((fails + 1))
	fi
}
inspect() { # the output image's partitions, for the checks below
	r_off=$(($(part_start "$img" 2) * 512))
	fat="$img@@$(($(part_start "$img" 1) * 512))"
	dd if="$img" of="$T/root.ext4" bs=1M iflag=skip_bytes,count_bytes skip=$r_off count=$(($(part_size "$img" 2) * 512)) status=none
}
stat_of() { debugfs -R "stat $1" "$T/root.ext4" 2>/dev/null; }
mode_is() { stat_of "$1" | grep -qE "Mode: +0?$2 "; }
owned_by_root() { stat_of "$1" | grep -qE 'User: +0 +Group: +0 '; }
link_to() { debugfs -R "stat $1" "$T/root.ext4" 2>/dev/null | grep -qF "Fast link dest: \"$2\""; }
exists() { stat_of "$1" | grep -q 'Inode:'; }
fsck_clean() { e2fsck -fn "$T/root.ext4" >/dev/null 2>&1; }

inspect
debugfs -R "dump /usr/bin/piha $T/piha" "$T/root.ext4" 2>/dev/null
check "/usr/bin/piha is dist/piha-linux-arm64, mode 0755, root" bash -c "cmp -s '$T/piha' '$DIST/piha-linux-arm64'"
check "/usr/bin/piha mode 0755" mode_is /usr/bin/piha 755
check "/usr/bin/piha owned by root" owned_by_root /usr/bin/piha
check "/etc/piha/authkey is AUTHKEY, mode 0600, root" bash -c "debugfs -R 'cat /etc/piha/authkey' '$T/root.ext4' 2>/dev/null | cmp -s - '$T/authkey'"
check "/etc/piha/authkey mode 0600" mode_is /etc/piha/authkey 600
check "/etc/piha/piha.yaml -> /boot/firmware/piha.yaml" link_to /etc/piha/piha.yaml /boot/firmware/piha.yaml
for u in piha.service piha-boot-setup.service piha-firstboot.service; do
	check "$u enabled" link_to "/etc/systemd/system/multi-user.target.wants/$u" "/etc/systemd/system/$u"
done
check "Raspberry Pi OS's own unit links kept" exists /etc/systemd/system/multi-user.target.wants/ssh.service
check "firstboot script executable" mode_is /usr/libexec/piha/firstboot 755
check "sysctl and journald overlays laid" bash -c "debugfs -R 'cat /etc/sysctl.d/90-piha.conf' '$T/root.ext4' 2>/dev/null | grep -q ip_nonlocal_bind=1 || debugfs -R 'cat /etc/sysctl.d/90-piha.conf' '$T/root.ext4' 2>/dev/null | grep -q 'ip_nonlocal_bind = 1'"
check "journald volatile" bash -c "debugfs -R 'cat /etc/systemd/journald.conf.d/90-piha-volatile.conf' '$T/root.ext4' 2>/dev/null | grep -qx 'Storage=volatile'"
check "Debian-only overlays not laid: fstab still Raspberry Pi OS's" bash -c "debugfs -R 'cat /etc/fstab' '$T/root.ext4' 2>/dev/null | grep -q PARTUUID=5e3da3da-02"
check "Debian-only overlays not laid: hostname, raspi-firmware defaults" bash -c "debugfs -R 'cat /etc/hostname' '$T/root.ext4' 2>/dev/null | grep -qx raspberrypi && ! debugfs -R 'stat /etc/default/raspi-firmware' '$T/root.ext4' 2>/dev/null | grep -q Inode:"
check "root file system grown and clean (e2fsck -fn)" fsck_clean
check "boot partition: piha.yaml, piha-network.yaml, piha-node" bash -c "mtype -i '$fat' ::/piha.yaml | cmp -s - '$REPO/overlays/boot/firmware/piha.yaml' && mdir -b -i '$fat' ::/piha-network.yaml >/dev/null && mdir -b -i '$fat' ::/piha-node >/dev/null"
check "config.txt: watchdog added once, arm_64bit=1 not repeated, the rest kept" bash -c "mtype -i '$fat' ::/config.txt > '$T/config.txt'; [ \$(grep -c '^dtparam=watchdog=on' '$T/config.txt') = 1 ] && [ \$(grep -c '^arm_64bit=1' '$T/config.txt') = 1 ] && grep -q '^camera_auto_detect=1' '$T/config.txt'"
check "cmdline.txt: still one line, root and init kept, watchdog timeout appended" bash -c "mtype -i '$fat' ::/cmdline.txt | tr -d '\r' > '$T/cmdline.txt'; [ \$(wc -l < '$T/cmdline.txt') = 1 ] && grep -q 'root=PARTUUID=5e3da3da-02 .*init=/usr/lib/raspberrypi-sys-mods/firstboot bcm2835_wdt.heartbeat=5\$' '$T/cmdline.txt'"
check "systemd's runtime watchdog off (piha holds /dev/watchdog)" bash -c "debugfs -R 'cat /etc/systemd/system.conf.d/90-piha-watchdog.conf' '$T/root.ext4' 2>/dev/null | grep -qx 'RuntimeWatchdogSec=off'"
check ".img.xz, .bmap and .sha256 in OUTDIR; checksum verifies" bash -c "cd '$OUTDIR' && [ -s piha-$VERSION-raspios-lite.img.bmap ] && sha256sum -c --quiet piha-$VERSION-raspios-lite.img.xz.sha256"

# Re-run on the output after "editing" piha.yaml: the edit stays, nothing is added twice.
echo '# edited by the user' >"$T/piha.yaml"
mcopy -o -i "$fat" "$T/piha.yaml" ::/piha.yaml
cp --sparse=always "$img" "$T/customised.img"
bash "$REPO/image/base-image.sh" "$T/customised.img" >"$T/second.log" 2>&1 || { cat "$T/second.log" >&2; die "second customisation failed"; }
img=$WORK/base/piha-$VERSION-customised.img
inspect
check "second customisation says it keeps piha.yaml" grep -q 'keeping the existing piha.yaml' "$T/second.log"
check "second customisation keeps the user's piha.yaml" bash -c "mtype -i '$fat' ::/piha.yaml | grep -q 'edited by the user'"
check "second customisation: watchdog line still once" bash -c "[ \$(mtype -i '$fat' ::/config.txt | grep -c '^dtparam=watchdog=on') = 1 ]"
check "second customisation: watchdog timeout still once in cmdline.txt" bash -c "[ \$(mtype -i '$fat' ::/cmdline.txt | grep -o 'bcm2835_wdt.heartbeat=' | wc -l) = 1 ]"
check "second customisation: root clean" fsck_clean
rm -f "$T/root.ext4" "$T/piha" "$T/customised.img"
rm -rf "$WORK/base"
if [ "$fails" -gt 0 ]; then
	echo "BASE_IMAGE test: $fails check(s) failed" >&2
	exit 1
fi
echo "BASE_IMAGE test: all checks passed"
