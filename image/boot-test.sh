#!/usr/bin/env bash
# make image-test, part 2: boot the built image in qemu-system-aarch64 (-M virt, the image's
# own kernel and initramfs, a sparse copy of the image 512 MiB larger as the disk) and check
# from the host, without SSH:
#   boot 1  piha started by systemd with the boot partition's piha.yaml: /status through a
#           forwarded port names node pi1 (found by its MAC), hostname pi1, the VIP held; the
#           static address from piha-network.yaml (the port forward targets 192.0.2.21, so it
#           only answers if that address was set); first-boot steps done (root grown, host
#           keys, machine-id, user renamed from userconf.txt, authorized_keys, SSH enabled).
#   boot 2  the same answers and nothing changed by the first-boot steps (idempotent).
#   boot 3  a broken piha.yaml: /status answers 503 with the error (fault server), no loop.
# Network: qemu's user-mode network (slirp) with restrict=on: the guest reaches nothing
# outside qemu; its network is 192.0.2.0/24 (TEST-NET-1). Only the forwarded port is open.
source "$(dirname "$0")/lib.sh"
need_tools qemu-system-aarch64 mcopy debugfs sfdisk curl node

T=$WORK/boot-test
img=$WORK/$NAME.img
if [ ! -f "$img" ]; then
	[ -f "$DIST/$NAME.img.xz" ] || die "no image: run make image first"
	xz -dc "$DIST/$NAME.img.xz" >"$img"
fi
rm -rf "$T"
mkdir -p "$T"
QEMU_PID=
cleanup() {
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null || true; fi
	rm -f "$T/disk.img"
}
trap cleanup EXIT

disk=$T/disk.img
cp --sparse=always "$img" "$disk"
truncate -s +512M "$disk" # room for the first boot to grow the root partition into
boot_off=$(($(part_start "$disk" 1) * 512))
root_off=$(($(part_start "$disk" 2) * 512))
fat="$disk@@$boot_off"
root_fs() { debugfs -R "$1" "$disk?offset=$root_off" 2>/dev/null; }

# The image's own kernel and initramfs, from its boot partition.
kernel=$(mdir -b -i "$fat" ::/ | sed -n 's|^::/||p' | grep '^vmlinuz-' | sort -V | tail -n 1)
initrd=$(mdir -b -i "$fat" ::/ | sed -n 's|^::/||p' | grep '^initrd.img-' | sort -V | tail -n 1)
[ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel/initrd on the boot partition"
mcopy -n -i "$fat" "::$kernel" "$T/vmlinuz"
mcopy -n -i "$fat" "::$initrd" "$T/initrd"

# The test cluster: pi1 is this VM (its MAC); pi2 and pi3 are configured but absent, with no
# vote, so pi1 alone is quorate and takes the VIP. Addresses from 192.0.2.0/24 only.
MAC=52:54:00:00:02:21
cat >"$T/piha.yaml" <<EOF
cluster:
  name: imgtest
  interface: eth0
nodes:
  - { name: pi1, id: 1, addr: 192.0.2.21, mac: "$MAC" }
  - { name: pi2, id: 2, addr: 192.0.2.22, votes: 0 }
  - { name: pi3, id: 3, addr: 192.0.2.23, votes: 0 }
resources:
  - { name: vip, type: vip, ip: 192.0.2.150, cidr_netmask: 32 }
EOF
printf 'mode: static\nprefix: 24\ngateway: 192.0.2.2\ndns: [192.0.2.3]\n' >"$T/piha-network.yaml"
# As Raspberry Pi Imager writes them: a user (name:SHA-512 crypt of "image-test-only"), SSH on, a key.
echo 'admin:$6$pihatest$g5NhWRR0sLj4EJgCSXi9PiBMfYKfZ9VjRWUlGVa1GRVH/DQmnflRAN2U78KoTGzfVPN6SeqSG9IpeoFAC/ZXv.' >"$T/userconf.txt"
echo 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPihaImageTestKeyOnlyForTheBootTestXXXXXXXXX image-test' >"$T/authorized_keys"
: >"$T/ssh"
for f in piha.yaml piha-network.yaml userconf.txt authorized_keys ssh; do mcopy -o -i "$fat" "$T/$f" "::$f"; done

PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
fails=0
check() { # check NAME COMMAND...: one line per check, counted
	if "${@:2}"; then echo "  ok   $1"; else
		echo "  FAIL $1"
		fails=$((fails + 1))
	fi
}

boot() { # boot N: starts qemu in the background
	qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
		-kernel "$T/vmlinuz" -initrd "$T/initrd" \
		-append "root=LABEL=RASPIROOT rw rootwait fsck.repair=yes net.ifnames=0 console=ttyAMA0" \
		-drive "file=$disk,if=virtio,format=raw,cache=unsafe" \
		-netdev "user,id=n0,net=192.0.2.0/24,host=192.0.2.2,dns=192.0.2.3,dhcpstart=192.0.2.100,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-192.0.2.21:9405" \
		-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=" \
		-display none -serial "file:$T/console-$1.log" -monitor "unix:$T/monitor.sock,server=on,wait=off" \
		-no-reboot &
	QEMU_PID=$!
	BOOT_N=$1
	BOOT_T0=$(date +%s.%N)
}

# wait_status PRED SECONDS: polls /status until the JSON satisfies PRED (a JS expression on
# s and code); prints the seconds since qemu started.
wait_status() {
	local deadline=$((SECONDS + $2)) body code
	while [ $SECONDS -lt $deadline ]; do
		kill -0 "$QEMU_PID" 2>/dev/null || { echo "qemu exited" >&2; return 1; }
		code=$(curl -s -m 3 -o "$T/status.json" -w '%{http_code}' "http://127.0.0.1:$PORT/status" || true)
		if [ "$code" = 200 ] || [ "$code" = 503 ]; then
			if node -e "const s=JSON.parse(require('fs').readFileSync('$T/status.json','utf8')); const code=$code; process.exit(($1) ? 0 : 1)" 2>/dev/null; then
				awk -v a="$(date +%s.%N)" -v b="$BOOT_T0" 'BEGIN { printf "%.1f\n", a - b }'
				return 0
			fi
		fi
		sleep 1
	done
	echo "timed out; last /status (HTTP $code): $(head -c 600 "$T/status.json" 2>/dev/null)" >&2
	return 1
}

shutdown() { # asks for a clean power-off (ACPI-less virt: the power key, handled by logind)
	node -e 'require("net").connect(process.argv[1]).end("system_powerdown\n")' "$T/monitor.sock" 2>/dev/null || true
	local i
	for i in $(seq 1 90); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 1
	done
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		echo "  note: no clean power-off within 90 s; qemu killed" >&2
		kill "$QEMU_PID"
	fi
	wait "$QEMU_PID" 2>/dev/null || true
	QEMU_PID=
	# The console without systemd's colours, for grep.
	sed 's/\x1b\[[0-9;]*m//g' "$T/console-$BOOT_N.log" >"$T/console-$BOOT_N.txt"
}

snapshot() { # what the first-boot steps leave on the disk, for comparing boots
	{
		echo "p2-size $(part_size "$disk" 2)"
		echo "machine-id $(root_fs 'cat /etc/machine-id')"
		echo "host-key $(root_fs 'cat /etc/ssh/ssh_host_ed25519_key.pub')"
		echo "hostname $(root_fs 'cat /etc/hostname')"
		echo "passwd $(root_fs 'cat /etc/passwd' | grep ':1000:')"
		echo "network $(root_fs 'cat /etc/systemd/network/10-piha-eth0.network' | md5sum | cut -c1-12)"
		echo "keys $(root_fs 'cat /home/admin/.ssh/authorized_keys' | md5sum | cut -c1-12)"
		echo "ssh-enabled $(root_fs 'ls /etc/systemd/system/multi-user.target.wants' | grep -o 'ssh.service' | head -n 1)"
	} >"$1"
}

results=$T/results.txt
: >"$results"
healthy='code === 200 && s.cluster === "imgtest" && s.node.name === "pi1" && s.system.hostname === "pi1" && s.resources.some((r) => r.holder === "pi1")'

for n in 1 2; do
	log "boot $n: qemu -M virt, status on 127.0.0.1:$PORT"
	boot $n
	if t=$(wait_status "code === 200" 400); then
		echo "boot $n: /status answered ${t} s after qemu started" | tee -a "$results"
		if t=$(wait_status "$healthy" 60); then
			echo "boot $n: VIP held by pi1 ${t} s after qemu started" | tee -a "$results"
			check "boot $n: /status names node pi1 of cluster imgtest, hostname pi1, VIP 192.0.2.150 held" true
		else
			check "boot $n: /status names node pi1 of cluster imgtest, hostname pi1, VIP 192.0.2.150 held" false
		fi
	else
		check "boot $n: /status answers" false
	fi
	# Let the boot finish (first-boot steps still run after piha answers) before powering off.
	for _ in $(seq 1 180); do
		sed 's/\x1b\[[0-9;]*m//g' "$T/console-$n.log" | grep -q 'Reached target multi-user.target' && break
		sleep 1
	done
	shutdown
	check "boot $n: reached multi-user.target" grep -q 'Reached target multi-user.target' "$T/console-$n.txt"
	check "boot $n: systemd started piha.service" grep -q 'Started piha.service' "$T/console-$n.txt"
	snapshot "$T/state-$n.txt"
done

c1=$T/console-1.txt
c2=$T/console-2.txt
check "boot 1: boot-setup found the node by its MAC, static 192.0.2.21/24" grep -q 'eth0: static 192.0.2.21/24 via 192.0.2.2 (networkd configured)' "$c1"
check "boot 1: root partition grown to the end of the disk" grep -q 'partition 2 of /dev/vda now ends at the end of the card' "$c1"
check "boot 1: root file system grown" grep -q 'root file system grown to' "$c1"
check "boot 1: SSH host keys generated" grep -q 'generating new host keys' "$c1"
check "boot 1: user renamed from userconf.txt" grep -q 'user admin set from userconf.txt' "$c1"
check "boot 1: SSH enabled" grep -q 'SSH server enabled' "$c1"
check "boot 1: authorized_keys installed" grep -q 'authorized_keys: 1 new key(s) for admin' "$c1"
check "after boot 1: machine-id set" grep -qE '^machine-id [0-9a-f]{32}$' "$T/state-1.txt"
check "after boot 1: user admin is uid 1000" grep -q '^passwd admin:x:1000:' "$T/state-1.txt"
check "after boot 1: SSH enabled at boot" grep -q '^ssh-enabled ssh.service' "$T/state-1.txt"
check "after boot 1: userconf.txt and ssh removed from the boot partition" bash -c "! mdir -b -i '$fat' ::/ | grep -qiE '::/(userconf.txt|ssh)\$'"
check "boot 2: nothing to grow" grep -q 'root file system already fills its partition' "$c2"
check "boot 2: boot-setup changed nothing" grep -q 'hostname pi1 (unchanged)' "$c2"
check "boot 2: network file unchanged" grep -q 'eth0: static 192.0.2.21/24 via 192.0.2.2 (networkd unchanged)' "$c2"
check "boot 2: no new host keys" bash -c "! grep -q 'generating new host keys' '$c2'"
check "boot 2: no new authorized keys" grep -q 'authorized_keys: 0 new key(s) for admin' "$c2"
check "boot 1 and boot 2 leave the same disk state (partition, machine-id, host key, hostname, user, network, keys)" cmp -s "$T/state-1.txt" "$T/state-2.txt"
diff "$T/state-1.txt" "$T/state-2.txt" >&2 || true

# Boot 3: a broken piha.yaml (a misspelt key, an address that is not one).
sed -e 's/interface: eth0/interfase: eth0/' -e 's/addr: 192.0.2.23,/addr: 192.0.2.2x,/' "$T/piha.yaml" >"$T/piha-broken.yaml"
mcopy -o -i "$fat" "$T/piha-broken.yaml" ::piha.yaml
log "boot 3: broken piha.yaml"
boot 3
if t=$(wait_status 'code === 503 && s.state === "fault" && s.errors.some((e) => e.includes("interfase")) && s.errors.some((e) => e.includes("192.0.2.2x"))' 400); then
	echo "boot 3 (broken piha.yaml): /status answered 503 with both errors ${t} s after qemu started" | tee -a "$results"
	check "boot 3: /status explains the broken piha.yaml (fault server)" true
	sleep 5
	if wait_status 'code === 503 && s.state === "fault"' 5 >/dev/null; then ok=true; else ok=false; fi
	check "boot 3: still the fault report 5 s later (no restart loop)" $ok
else
	check "boot 3: /status explains the broken piha.yaml" false
fi
shutdown
check "boot 3: the fault server names the error on the console" grep -q 'fault: .*unknown key "interfase"' "$T/console-3.txt"
check "boot 3: boot-setup kept the static address of the last good configuration" grep -q 'keeping the last network configuration' "$T/console-3.txt"

log "console logs and results in $T"
cat "$results"
if [ "$fails" -gt 0 ]; then
	echo "image boot test: $fails check(s) failed" >&2
	exit 1
fi
echo "image boot test: all checks passed"
