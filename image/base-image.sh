#!/usr/bin/env bash
# BASE_IMAGE=raspios-lite.img make image: add piha to a Raspberry Pi OS Lite (64-bit,
# Bookworm or later) image, offline and without loop devices or mounts. Output:
# dist/piha-<version>-<base name>.img.xz (+ .bmap, .sha256); the base is not modified.
#   - the root partition is copied out, grown when piha does not fit (resize2fs on the file,
#     sfdisk for the table), edited with debugfs -w (overlays, binary, key, unit links),
#     checked with e2fsck and copied back;
#   - the FAT partition is edited in place with mtools: piha.yaml and friends are added unless
#     already there (a re-customised image keeps its config), config.txt gets the watchdog.
# Raspberry Pi OS keeps its own first-boot steps (resize, user, SSH); piha-firstboot only does
# what it lacks (authorized_keys) and piha-boot-setup writes a NetworkManager keyfile.
# Usage: base-image.sh BASE.img[.xz]
source "$(dirname "$0")/lib.sh"
need_tools sfdisk debugfs e2fsck resize2fs dumpe2fs mcopy mtype mdir xz bmaptool
base=$1
[ -f "$base" ] || die "BASE_IMAGE=$base: no such file"
stem=$(basename "$base")
stem=${stem%.xz}
stem=${stem%.img}
out_name=piha-$VERSION-$stem
B=$WORK/base
rm -rf "$B"
mkdir -p "$B"
img=$B/$out_name.img

log "base image: $base"
case "$base" in
*.xz) xz -dc "$base" >"$img" ;;
*) cp --sparse=always "$base" "$img" ;;
esac

# Two partitions, FAT then Linux, as Raspberry Pi OS ships them.
n=$(sfdisk -J "$img" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).partitiontable.partitions.length)')
[ "$n" = 2 ] || die "$base has $n partitions; expected Raspberry Pi OS's two (FAT boot, ext4 root)"
b_start=$(part_start "$img" 1)
r_start=$(part_start "$img" 2)
r_size=$(part_size "$img" 2)
fat="$img@@$((b_start * 512))"
mdir -b -i "$fat" ::/config.txt >/dev/null 2>&1 || die "no config.txt on the first partition: not a Raspberry Pi image"
mdir -b -i "$fat" ::/cmdline.txt >/dev/null 2>&1 || die "no cmdline.txt on the first partition: not a Raspberry Pi image"

root=$B/root.ext4
dd if="$img" of="$root" bs=1M iflag=skip_bytes,count_bytes skip=$((r_start * 512)) count=$((r_size * 512)) conv=sparse status=none
e2fsck -fn "$root" >/dev/null 2>&1 || die "the root file system of $base is not clean (e2fsck -fn); use a freshly downloaded image"
debugfs -R 'stat /usr/lib/aarch64-linux-gnu' "$root" 2>/dev/null | grep -q 'Type: directory' ||
	die "$base has no arm64 userland (/usr/lib/aarch64-linux-gnu): use Raspberry Pi OS Lite 64-bit"

# Room for piha: the binary, the overlays and 64 MiB to spare. Raspberry Pi OS grows the root
# to the card at its first boot, so only the image's own slack matters here.
# A piha already there (a re-customised image) is replaced, so its space counts as free.
old=$(debugfs -R 'stat /usr/bin/piha' "$root" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n 1)
bsize=$(dumpe2fs -h "$root" 2>/dev/null | awk -F: '/^Block size/ {gsub(/ /,"",$2); print $2}')
free=$(($(dumpe2fs -h "$root" 2>/dev/null | awk -F: '/^Free blocks/ {gsub(/ /,"",$2); print $2}') * bsize + ${old:-0}))
need=$(($(stat -c %s "$DIST/piha-linux-arm64") + 64 * 1048576))
if [ "$free" -lt "$need" ]; then
	grow_mib=$(((need - free) / 1048576 + 64))
	log "root has $((free / 1048576)) MiB free; growing it by $grow_mib MiB"
	end=$(((r_start + r_size) * 512))
	[ "$(stat -c %s "$img")" -le $((end + 1048576)) ] || die "the root partition is not at the end of the image; cannot grow it"
	truncate -s $((end + grow_mib * 1048576)) "$img"
	echo "start=$r_start, size=$((r_size + grow_mib * 2048))" | sfdisk --quiet -N 2 "$img"
	r_size=$((r_size + grow_mib * 2048))
	truncate -s $((r_size * 512)) "$root"
	resize2fs -f "$root" >/dev/null 2>&1 || die "resize2fs of the root partition failed"
fi

is_dir() { debugfs -R "stat $1" "$root" 2>/dev/null | grep -q 'Type: directory'; }

# debugfs commands: every overlay file (as root:root with its mode from git), the binary, the
# key, the unit links. mkdir of an existing directory and rm of a missing file are expected
# to complain; anything else fails the build.
cmds=$B/debugfs.cmds
key=$(bash "$REPO/image/key.sh" "$out_name")
(
	cd "$REPO/overlays"
	skip=$(grep -v '^#' "$REPO/image/debian-only.list" | grep -v '^$')
	# Only missing directories: debugfs 1.47's mkdir of an existing name leaves an orphaned
	# directory inode behind (e2fsck then complains), so ask first.
	find . -mindepth 1 -path ./boot -prune -o -type d -print | sed 's|^\./||' | sort | while read -r d; do
		is_dir "/$d" || echo "mkdir /$d"
	done
	find . -path ./boot -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | sort | while read -r f; do
		grep -qxF "$f" <<<"$skip" && continue
		echo "rm /$f"
		if [ -L "$f" ]; then
			echo "symlink /$f $(readlink "$f")"
		else
			echo "write $REPO/overlays/$f /$f"
			printf 'sif /%s mode 0%o\n' "$f" $((0100000 | 0$(stat -c %a "$f")))
		fi
		echo "sif /$f uid 0"
		echo "sif /$f gid 0"
	done
	echo "rm /usr/bin/piha"
	echo "write $DIST/piha-linux-arm64 /usr/bin/piha"
	echo "sif /usr/bin/piha mode 0100755"
	echo "sif /etc/piha mode 040700"
	echo "rm /etc/piha/authkey"
	echo "write $key /etc/piha/authkey"
	echo "sif /etc/piha/authkey mode 0100600"
	for f in usr/bin/piha etc/piha etc/piha/authkey; do echo "sif /$f uid 0"; echo "sif /$f gid 0"; done
	is_dir /etc/systemd/system/multi-user.target.wants || echo "mkdir /etc/systemd/system/multi-user.target.wants"
	for u in piha.service piha-boot-setup.service piha-firstboot.service; do
		echo "rm /etc/systemd/system/multi-user.target.wants/$u"
		echo "symlink /etc/systemd/system/multi-user.target.wants/$u /etc/systemd/system/$u"
	done
) >"$cmds"
debugfs -w -f "$cmds" "$root" >"$B/debugfs.log" 2>&1
if grep -E '^(rm|mkdir|write|symlink|sif|debugfs)?:? ?.*(error|Error|not found|No such|exists|failed|Could not)' "$B/debugfs.log" |
	grep -vE 'rm: File not found by ext2_lookup' >"$B/debugfs.errors"; then
	cat "$B/debugfs.errors" >&2
	die "debugfs reported errors (full log: $B/debugfs.log)"
fi
e2fsck -fn "$root" >/dev/null 2>&1 || die "e2fsck found the edited root file system inconsistent ($root)"
dd if="$root" of="$img" bs=1M oflag=seek_bytes seek=$((r_start * 512)) conv=notrunc status=none
rm -f "$root"

# The boot partition: piha's files unless present (keep a user's config), the watchdog
# (config.txt, cmdline.txt).
for f in piha.yaml piha-network.yaml piha-node; do
	if mdir -b -i "$fat" "::/$f" >/dev/null 2>&1; then
		log "boot partition: keeping the existing $f"
	else
		mcopy -i "$fat" "$REPO/overlays/boot/firmware/$f" "::/$f"
	fi
done
mtype -i "$fat" ::/config.txt | tr -d '\r' >"$B/config.txt"
add=""
grep -qE '^[[:space:]]*arm_64bit=1' "$B/config.txt" || add+="arm_64bit=1"$'\n'
grep -qE '^[[:space:]]*dtparam=watchdog=on' "$B/config.txt" || add+="dtparam=watchdog=on"$'\n'
if [ -n "$add" ]; then
	# [all]: whatever section the file ended in, these apply to every board.
	printf '\n[all]\n# Added by piha (make image): 64-bit kernel, hardware watchdog for self-fencing.\n%s' "$add" >>"$B/config.txt"
	mcopy -o -i "$fat" "$B/config.txt" ::/config.txt
	log "config.txt: added $(echo $add)"
fi
# cmdline.txt (one line): the watchdog's timeout, as the Debian image sets it
# (overlays/etc/default/raspi-extra-cmdline; piha.yaml's fencing.watchdog.timeout), unless a
# heartbeat is set already: the kernel's default (15 s) is longer, and piha would refuse it.
wdt=$(cat "$REPO/overlays/etc/default/raspi-extra-cmdline")
mtype -i "$fat" ::/cmdline.txt | tr -d '\r' >"$B/cmdline.txt"
if ! grep -q 'bcm2835_wdt\.heartbeat=' "$B/cmdline.txt"; then
	printf '%s %s\n' "$(head -n 1 "$B/cmdline.txt" | sed 's/[[:space:]]*$//')" "$wdt" >"$B/cmdline.new"
	mcopy -o -i "$fat" "$B/cmdline.new" ::/cmdline.txt
	log "cmdline.txt: added $wdt"
fi

bash "$REPO/image/publish.sh" "$img" "$out_name"
log "BASE_IMAGE done: piha $VERSION added to $base"
[ -n "${AUTHKEY:-}" ] || log "cluster key of this image: $key (keep it; AUTHKEY=$key reuses it)"
