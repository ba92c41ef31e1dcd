# Runs INSIDE the arm64 tree (chroot under qemu-user), fed on stdin by customize.sh.
set -euo pipefail
export LC_ALL=C.UTF-8

# Units: piha and the image's boot steps; systemd-networkd brings up eth0 (files written by
# piha-boot-setup). SSH stays off until the boot partition asks for it (ssh, authorized_keys),
# as on Raspberry Pi OS.
systemctl enable piha.service piha-boot-setup.service piha-firstboot.service systemd-networkd.service \
	systemd-resolved.service systemd-timesyncd.service 2>&1 | grep -v '^Created symlink' || true
systemctl disable ssh.service 2>&1 | grep -v '^Removed' || true

# The first user, locked (no password, no key) until userconf.txt or authorized_keys on the
# boot partition give it one; named pi so Raspberry Pi Imager's first-run script finds uid 1000.
id pi >/dev/null 2>&1 || useradd -m -u 1000 -s /bin/bash -G sudo,adm,systemd-journal pi
passwd -l pi >/dev/null

# Identity of each Pi is made at its first boot: no shared SSH host keys or machine-id.
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id

# The small initramfs (MODULES=list, /etc/initramfs-tools); its post-update hook
# (raspi-firmware) copies kernel, initrd and device trees to /boot/firmware and writes
# config.txt and cmdline.txt from /etc/default/raspi-firmware*.
update-initramfs -c -k "$KVER" >/dev/null
grep -qx 'arm_64bit=1' /boot/firmware/config.txt
grep -qx 'dtparam=watchdog=on' /boot/firmware/config.txt
grep -q 'root=LABEL=RASPIROOT' /boot/firmware/cmdline.txt
grep -qw 'bcm2835_wdt.heartbeat=5' /boot/firmware/cmdline.txt

# Package lists are 40+ MB and stale by the time the card boots; `apt update` fetches them.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/lib/dpkg/*-old /var/log/*.log /var/log/apt/*
