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
#   boot 4  the hardware watchdog: piha holds /dev/watchdog (qemu's emulated i6300esb),
#           systemd does not; then piha is frozen (SIGSTOP, over SSH), the watchdog fires
#           (qemu's QMP event) and resets the guest, which boots again and serves the VIP.
# Every boot runs with the image's default fencing: section (the watchdog, on by default; its
# timeout raised for emulation, WATCHDOG_SEC below), so boots 1 and 2 also check that piha
# armed and pets it (/status, /metrics), and that the watchdog never fired.
# Network: qemu's user-mode network (slirp) with restrict=on: the guest reaches nothing
# outside qemu; its network is 192.0.2.0/24 (TEST-NET-1). Only the forwarded ports (piha's
# status port, SSH) are open.
source "$(dirname "$0")/lib.sh"
need_tools qemu-system-aarch64 mcopy debugfs sfdisk curl node ssh ssh-keygen

T=$WORK/boot-test
img=$WORK/$NAME.img
if [ ! -f "$img" ]; then
	[ -f "$DIST/$NAME.img.xz" ] || die "no image: run make image first"
	xz -dc "$DIST/$NAME.img.xz" >"$img"
fi
rm -rf "$T"
mkdir -p "$T"
QEMU_PID=
QMP_PID=
cleanup() {
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null || true; fi
	if [ -n "$QMP_PID" ] && kill -0 "$QMP_PID" 2>/dev/null; then kill "$QMP_PID"; fi
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

# The image's default piha.yaml and boot files, before the test replaces piha.yaml: the
# watchdog is on by default (and its timeout is on the Pi's kernel command line). Its fencing:
# section goes into the test's piha.yaml as it is, so piha runs with the image's default.
mcopy -n -i "$fat" ::piha.yaml "$T/default-piha.yaml"
mcopy -n -i "$fat" ::cmdline.txt "$T/default-cmdline.txt"
mcopy -n -i "$fat" ::config.txt "$T/default-config.txt"
FENCING=$(awk '/^fencing:/ { on = 1; print; next } on && /^[^ #]/ { on = 0 } on' "$T/default-piha.yaml")
IMAGE_WD_SEC=$(sed -n 's/^    timeout: *\([0-9]*\)s\b.*/\1/p' <<<"$FENCING" | head -n 1)
grep -qE '^    enabled: true' <<<"$FENCING" || die "the image's piha.yaml does not enable the watchdog (fencing.watchdog.enabled)"
[ -n "$IMAGE_WD_SEC" ] || die "no fencing.watchdog.timeout in the image's piha.yaml"
# The timeout, though, is raised for this guest: emulated (TCG) on a shared 2-core machine, its
# first boot (root grown, host keys made, every binary loaded under emulation) stalled piha's
# start for 10 s, and the 5 s watchdog reset it, as it would reset a Pi that stalls that long.
# WATCHDOG_SEC (default 15, the most piha accepts) is set in both piha.yaml and
# i6300esb.heartbeat=; WATCHDOG_SEC=5 runs the image's own value on a faster or idle machine.
WD_SEC=${WATCHDOG_SEC:-15}
FENCING=$(sed "s/^\(    timeout: *\)[0-9]*s\b/\1${WD_SEC}s/" <<<"$FENCING")

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
$FENCING
EOF
printf 'mode: static\nprefix: 24\ngateway: 192.0.2.2\ndns: [192.0.2.3]\n' >"$T/piha-network.yaml"
# As Raspberry Pi Imager writes them: a user (name:SHA-512 crypt of "image-test-only"), SSH on, a key.
echo 'admin:$6$pihatest$g5NhWRR0sLj4EJgCSXi9PiBMfYKfZ9VjRWUlGVa1GRVH/DQmnflRAN2U78KoTGzfVPN6SeqSG9IpeoFAC/ZXv.' >"$T/userconf.txt"
# A real key, made here for this test only (kept in $T): boot 4 logs in with it to freeze piha.
ssh-keygen -q -t ed25519 -N '' -C image-test -f "$T/id_test"
cp "$T/id_test.pub" "$T/authorized_keys"
: >"$T/ssh"
for f in piha.yaml piha-network.yaml userconf.txt authorized_keys ssh; do mcopy -o -i "$fat" "$T/$f" "::$f"; done

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(free_port)
SSH_PORT=$(free_port)
fails=0
check() { # check NAME COMMAND...: one line per check, counted
	if "${@:2}"; then echo "  ok   $1"; else
		echo "  FAIL $1"
		fails=$((fails + 1))
	fi
}

# The watchdog: qemu's i6300esb on the virt machine's PCI bus (the image's initramfs loads its
# driver, as it loads bcm2835_wdt on a Pi), its timeout set on the kernel command line as the
# image sets the Pi's (bcm2835_wdt.heartbeat= in cmdline.txt); when it fires, qemu resets the
# guest. Boots 1-3 run with -no-reboot: a reset there ends qemu, and the boot fails.
boot() { # boot N [reboot]: starts qemu in the background; "reboot": a guest reset reboots it
	local once=-no-reboot
	[ "${2:-}" = reboot ] && once=
	qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 \
		-kernel "$T/vmlinuz" -initrd "$T/initrd" \
		-append "root=LABEL=RASPIROOT rw rootwait fsck.repair=yes net.ifnames=0 console=ttyAMA0 i6300esb.heartbeat=$WD_SEC" \
		-drive "file=$disk,if=virtio,format=raw,cache=unsafe" \
		-netdev "user,id=n0,net=192.0.2.0/24,host=192.0.2.2,dns=192.0.2.3,dhcpstart=192.0.2.100,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-192.0.2.21:9405,hostfwd=tcp:127.0.0.1:$SSH_PORT-192.0.2.21:22" \
		-device "virtio-net-pci,netdev=n0,mac=$MAC,romfile=" \
		-device i6300esb -action watchdog=reset \
		-display none -serial "file:$T/console-$1.log" -monitor "unix:$T/monitor.sock,server=on,wait=off" \
		-qmp "unix:$T/qmp.sock,server=on,wait=off" \
		$once 2>"$T/qemu-$1.err" &
	QEMU_PID=$!
	: >"$T/qmp-$1.log"
	qmp_events "$T/qmp.sock" "$T/qmp-$1.log" &
	QMP_PID=$!
	BOOT_N=$1
	BOOT_T0=$(date +%s.%N)
}

# wait_status PRED SECONDS: polls /status until the JSON satisfies PRED (a JS expression on
# s and code); prints the seconds since qemu started.
wait_status() {
	local deadline=$((SECONDS + $2)) body code
	while [ $SECONDS -lt $deadline ]; do
		kill -0 "$QEMU_PID" 2>/dev/null || {
			echo "qemu exited; its QMP events: $(tr '\n' ' ' <"$T/qmp-$BOOT_N.log")" >&2
			return 1
		}
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

# qmp_events SOCKET FILE: qemu's QMP events (WATCHDOG, RESET, SHUTDOWN, each with qemu's host
# timestamp), one JSON object a line, until qemu closes the socket.
qmp_events() {
	node -e '
const net = require("net"), fs = require("fs");
const [sock, file] = process.argv.slice(1);
let tries = 0;
(function connect() {
  const c = net.connect(sock);
  let buf = "";
  c.on("connect", () => c.write(JSON.stringify({ execute: "qmp_capabilities" }) + "\n"));
  c.on("data", (d) => {
    buf += d;
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      const line = buf.slice(0, i).trim();
      if (line.includes("\"event\"")) fs.appendFileSync(file, line + "\n");
    }
  });
  let up = false;
  c.on("connect", () => (up = true));
  c.on("error", () => { if (!up && ++tries < 100) setTimeout(connect, 100); }); // not there yet
})();' "$1" "$2"
}

# watchdog_fired N: the host time (s) of qemu's first WATCHDOG event in boot N, if any
watchdog_fired() {
	node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) { if (!l) continue; const e = JSON.parse(l); if (e.event === "WATCHDOG") { console.log(e.timestamp.seconds + e.timestamp.microseconds / 1e6); break; } }' "$T/qmp-$1.log"
}

# guest CMD...: runs a command in the guest as the first user (admin), over SSH with the test key.
guest() {
	ssh -q -i "$T/id_test" -p "$SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=20 admin@127.0.0.1 "$@"
}

# diagnose N: after a failed check, what a person would look at: the whole /status (the
# timeout message shows only its start), piha's journal and the guest's addresses.
diagnose() {
	cp "$T/status.json" "$T/status-fail-$1.json" 2>/dev/null || true
	echo "--- boot $1: /status resources, failures and recent events" >&2
	node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(JSON.stringify({ resources: s.resources, failures: s.failures, nodes: s.nodes, events: (s.events || []).slice(-15) }, null, 1))' "$T/status-fail-$1.json" >&2 || true
	echo "--- boot $1: journalctl -u piha (last 60 lines) and ip addr" >&2
	guest 'sudo -n journalctl -b -u piha --no-pager | tail -n 60; ip -br addr' >&2 || echo "(ssh failed)" >&2
	curl -s -m 3 "http://127.0.0.1:$PORT/events" | tail -c 3000 >&2 || true
}

pets() { # piha_watchdog_pets_total from /metrics
	curl -s -m 3 "http://127.0.0.1:$PORT/metrics" | awk '$1 == "piha_watchdog_pets_total" { print $2 }'
}

# console_count N PATTERN: how many console lines of boot N match (colours removed)
console_count() { sed 's/\x1b\[[0-9;]*m//g' "$T/console-$1.log" | grep -c "$2" || true; }

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
	wait "$QMP_PID" 2>/dev/null || true
	QMP_PID=
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
# piha opened the watchdog (in watchdog mode the daemon does not run without it), read back the
# timeout the kernel command line set, and pets it.
armed="s.safety.modes.join(' + ') === 'lease + watchdog' && s.fencing.watchdog.timeoutSec === $WD_SEC && s.fencing.watchdog.pets > 0"
armed_now() { wait_status "$armed" 10 >/dev/null; }
check "image default: piha.yaml enables the watchdog, ${IMAGE_WD_SEC} s (this test runs it with ${WD_SEC} s)" true
check "image default: cmdline.txt sets bcm2835_wdt.heartbeat=$IMAGE_WD_SEC" grep -qw "bcm2835_wdt.heartbeat=$IMAGE_WD_SEC" "$T/default-cmdline.txt"
check "image default: config.txt has dtparam=watchdog=on" grep -qx 'dtparam=watchdog=on' "$T/default-config.txt"

for n in 1 2; do
	log "boot $n: qemu -M virt, status on 127.0.0.1:$PORT"
	boot $n
	if t=$(wait_status "code === 200" 400); then
		echo "boot $n: /status answered ${t} s after qemu started" | tee -a "$results"
		# 120 s: a starting node holds nothing for the promise plus the watchdog wait (~17 s
		# with WATCHDOG_SEC=15), and a starved guest (a busy host) may need a retry or two.
		if t=$(wait_status "$healthy" 120); then
			echo "boot $n: VIP held by pi1 ${t} s after qemu started" | tee -a "$results"
			check "boot $n: /status names node pi1 of cluster imgtest, hostname pi1, VIP 192.0.2.150 held" true
			check "boot $n: /status: safety lease + watchdog, ${WD_SEC} s read back, pets counted" armed_now
			p1=$(pets)
			sleep $((WD_SEC / 2 + 1)) # piha pets every quarter timeout
			p2=$(pets)
			echo "boot $n: piha_watchdog_pets_total ${p1:-none} -> ${p2:-none} in $((WD_SEC / 2 + 1)) s" | tee -a "$results"
			check "boot $n: /metrics piha_watchdog_pets_total rising" test "${p2:-0}" -gt "${p1:-0}"
		else
			check "boot $n: /status names node pi1 of cluster imgtest, hostname pi1, VIP 192.0.2.150 held" false
			diagnose $n
		fi
	else
		check "boot $n: /status answers" false
	fi
	# Let the boot finish (first-boot steps still run after piha answers) before powering off.
	for _ in $(seq 1 180); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sed 's/\x1b\[[0-9;]*m//g' "$T/console-$n.log" | grep -q 'Reached target multi-user.target' && break
		sleep 1
	done
	shutdown
	check "boot $n: reached multi-user.target" grep -q 'Reached target multi-user.target' "$T/console-$n.txt"
	check "boot $n: systemd started piha.service" grep -q 'Started piha.service' "$T/console-$n.txt"
	check "boot $n: the watchdog never fired (qemu reported no WATCHDOG event)" test -z "$(watchdog_fired $n)"
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
check "boot 3: the watchdog never fired (qemu reported no WATCHDOG event)" test -z "$(watchdog_fired 3)"

# Boot 4: the watchdog resets a frozen node. The good piha.yaml again; a guest reset reboots.
mcopy -o -i "$fat" "$T/piha.yaml" ::piha.yaml
log "boot 4: piha holds the watchdog; freeze it, the watchdog resets the guest"
boot 4 reboot
if t=$(wait_status "$healthy && $armed" 400); then
	echo "boot 4: VIP held and the watchdog armed ${t} s after qemu started" | tee -a "$results"
	check "boot 4: systemd's runtime watchdog is off (it would hold /dev/watchdog)" test "$(guest systemctl show -p RuntimeWatchdogUSec --value)" = 0
	wd=$(guest 'cat /sys/class/watchdog/watchdog0/identity /sys/class/watchdog/watchdog0/timeout; sudo sh -c "readlink /proc/$(systemctl show -p MainPID --value piha.service)/fd/*"' 2>&1 || true)
	printf '%s\n' "$wd" >"$T/guest-watchdog.txt"
	check "boot 4: /dev/watchdog is qemu's i6300esb, timeout ${WD_SEC} s" test "$(head -n 2 <<<"$wd" | tr '\n' ' ')" = "i6300ESB timer $WD_SEC "
	check "boot 4: piha's process holds /dev/watchdog open" grep -qx '/dev/watchdog' <<<"$wd"
	# The address guard asks for SCHED_FIFO (src/vip/guard.ts); piha.service must allow it.
	gp=$(guest 'sudo sh -c "for d in /proc/[0-9]*; do grep -qa piha-guard \$d/cmdline 2>/dev/null && chrt -p \${d#/proc/}; done"' 2>&1 || true)
	printf '%s\n' "$gp" >"$T/guest-guard-priority.txt"
	check "boot 4: the address guard runs at real-time priority (SCHED_FIFO) under piha.service" grep -q 'SCHED_FIFO' <<<"$gp"
	boot_id=$(guest cat /proc/sys/kernel/random/boot_id || true)
	# Freeze the daemon and its address guard (the whole unit), as a hung node: the pets stop.
	t_sent=$(date +%s.%N)
	guest sudo systemctl kill --signal=SIGSTOP piha.service
	t_done=$(date +%s.%N)
	fired=
	for _ in $(seq 1 300); do
		grep -q '"WATCHDOG"' "$T/qmp-4.log" && fired=$(watchdog_fired 4) && break
		sleep 0.1
	done
	since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
	if [ -n "$fired" ]; then
		echo "boot 4: piha frozen (SIGSTOP over ssh, $(since "$t_done" "$t_sent") s); qemu's watchdog fired $(since "$fired" "$t_sent") s after it was sent, $(since "$fired" "$t_done") s after ssh returned (timeout ${WD_SEC} s)" | tee -a "$results"
	else
		echo "boot 4: piha frozen; qemu's watchdog did not fire within 30 s" | tee -a "$results"
	fi
	# The last pet before the freeze is at most a quarter timeout old (pets every timeout/4),
	# so the watchdog fires between 3/4 of the timeout and the timeout after the freeze, which
	# lies between sending the SIGSTOP and ssh returning.
	check "boot 4: the watchdog fired ${WD_SEC} s after piha froze (qemu WATCHDOG event)" \
		awk -v f="${fired:-0}" -v a="$t_sent" -v b="$t_done" -v w="$WD_SEC" 'BEGIN { exit !(f > 0 && f - a >= 0.75 * w - 0.25 && f - b <= w + 1) }'
	reset_s=$fired
	for _ in $(seq 1 100); do
		[ "$(console_count 4 'Booting Linux on physical CPU')" -ge 2 ] && break
		sleep 0.1
	done
	check "boot 4: qemu reset the guest (the kernel started again)" test "$(console_count 4 'Booting Linux on physical CPU')" -ge 2
	if [ -n "$reset_s" ] && t=$(wait_status "$healthy && $armed" 400); then
		echo "boot 4: after the reset, VIP held and the watchdog armed again ${t} s after qemu started" | tee -a "$results"
		check "boot 4: after the reset: node pi1 holds the VIP, watchdog armed" true
		new_id=$(guest cat /proc/sys/kernel/random/boot_id || true)
		check "boot 4: a new boot (boot id ${boot_id:0:8} -> ${new_id:0:8})" test -n "$boot_id" -a -n "$new_id" -a "$boot_id" != "$new_id"
	else
		check "boot 4: after the reset: node pi1 holds the VIP, watchdog armed" false
	fi
else
	check "boot 4: /status: VIP held, watchdog armed" false
fi
shutdown
check "boot 4: the guest booted twice (the watchdog reset, no power-off between)" test "$(grep -c 'Booting Linux on physical CPU' "$T/console-4.txt")" = 2

log "console logs and results in $T"
cat "$results"
if [ "$fails" -gt 0 ]; then
	echo "image boot test: $fails check(s) failed" >&2
	exit 1
fi
echo "image boot test: all checks passed"
