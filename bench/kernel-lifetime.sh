#!/bin/bash
# When does the kernel remove an address whose lifetime ran out? (README, "Residual risks")
#
# piha's last backstop on lan/slow is the kernel address lifetime (valid_lft V, refreshed while
# the lease lasts; src/core/timing.ts rule 4 assumes removal by V s + 300 ms). The kernel checks
# lifetimes with one timer per network namespace (per machine on older kernels), and any address
# of the same family added or changed there re-arms that timer no sooner than 1 s later
# (devinet.c check_lifetime, ADDRCONF_TIMER_FUZZ_MAX; addrconf for IPv6). This script measures
# the removal time of a valid_lft 1 address alone and with one other change 0.9 s after the add:
# in the same namespace (IPv4 add, IPv4 lifetime change, IPv6 add, IPv6 lifetime change) and in
# another namespace.
#
# Needs root and iproute2. Uses two namespaces of its own (removed at exit) and only
# 192.0.2.0/24 and 2001:db8::/32 inside them. ROUNDS=N repeats every case (default 2, at most 25).
set -eu
ROUNDS=${ROUNDS:-2}
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 25 ] || { echo "ROUNDS must be 1-25 (each round adds 9 addresses to a /24)" >&2; exit 2; }
a=piha-lft-a$$ b=piha-lft-b$$
ip netns add $a
ip netns add $b
trap 'ip netns del $a; ip netns del $b' EXIT
for ns in $a $b; do
  ip -n $ns link add d0 type veth peer name d1
  ip -n $ns link set d0 up
  ip -n $ns link set d1 up
done
ip -n $a addr add 192.0.2.5/24 dev d1 valid_lft 100 preferred_lft 100
ip -n $a addr add 2001:db8::5/128 dev d1 nodad valid_lft 100 preferred_lft 100
sleep 1

# $1 = the VIP's family (4|6), $2 = the other change. Every added address is new (n counts up):
# re-adding one that exists would fail, and change nothing in the kernel.
n=20
measure() {
  local fam=$1 what=$2 vip t0 t1
  if [ "$fam" = 4 ]; then vip=192.0.2.10/24; else vip=2001:db8::10/128; fi
  t0=$(date +%s.%N)
  if [ "$fam" = 4 ]; then
    ip -n $a addr add $vip dev d0 valid_lft 1 preferred_lft 1
  else
    ip -n $a addr add $vip dev d0 nodad valid_lft 1 preferred_lft 0
  fi
  n=$((n + 1))
  sleep 0.9
  case $what in
    alone) ;;
    v4-add-same-ns) ip -n $a addr add 192.0.2.$n/24 dev d1 ;;
    v4-lifetime-same-ns) ip -n $a addr change 192.0.2.5/24 dev d1 valid_lft 100 preferred_lft 100 ;;
    v6-add-same-ns) ip -n $a addr add 2001:db8::$n/128 dev d1 nodad ;;
    v6-lifetime-same-ns) ip -n $a addr change 2001:db8::5/128 dev d1 nodad valid_lft 100 preferred_lft 100 ;;
    v4-add-other-ns) ip -n $b addr add 192.0.2.$n/24 dev d0 ;;
  esac
  while ip -n $a addr show dev d0 | grep -q " ${vip%/*}/"; do sleep 0.005; done
  t1=$(date +%s.%N)
  awk -v f="$fam" -v w="$what:" -v a="$t0" -v b="$t1" 'BEGIN { printf "IPv%s VIP, valid_lft 1, %-21s removed after %.2f s\n", f, w, b - a }'
}

echo "bench/kernel-lifetime.sh, $(date -u +%FT%TZ), kernel $(uname -r)"
for _ in $(seq "$ROUNDS"); do
  for what in alone v4-add-same-ns v4-lifetime-same-ns v6-add-same-ns v4-add-other-ns; do measure 4 $what; done
  for what in alone v6-add-same-ns v6-lifetime-same-ns v4-add-same-ns; do measure 6 $what; done
done
