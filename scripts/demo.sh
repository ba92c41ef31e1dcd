#!/usr/bin/env bash
# Interactive demo of piha: a 3-node cluster on a network-namespace LAN (needs root).
#
#   scripts/demo.sh up     start it in the background (test/lab/demo.ts), print instructions
#   scripts/demo.sh down   stop it, remove its namespaces (plus stale ones of dead lab runs)
#
# The demo writes /run/piha-demo/state.json (or /tmp/piha-demo/state.json) while it runs;
# its log is /tmp/piha-demo.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG=/tmp/piha-demo.log
STATE_FILES=(/run/piha-demo/state.json /tmp/piha-demo/state.json)
READY='=== piha demo ready ==='
END='=== end of instructions ==='

cd "$ROOT"

# Prints "<pid> <state file>" of a running demo, or nothing.
running_demo() {
  local f pid
  for f in "${STATE_FILES[@]}"; do
    [[ -f $f ]] || continue
    pid=$(node -e 'try { const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(Number.isInteger(s.pid) ? s.pid : ""); } catch { console.log(""); }' "$f")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -qa 'test/lab/demo.ts' "/proc/$pid/cmdline" 2>/dev/null; then
      echo "$pid $f"
      return 0
    fi
  done
  return 0
}

# SIGTERM the demo, wait up to 10 s, then SIGKILL. Returns 1 if it had to be SIGKILLed.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "demo (pid $pid) still running after 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  # until it is reaped (a zombie still counts as alive for kill -0)
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

print_instructions() {
  sed -n "/^${READY}\$/,/^${END}\$/p" "$LOG" | sed "/^${READY}\$/d; /^${END}\$/d"
}

up() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "demo: needs root (network namespaces, nft)" >&2
    exit 1
  fi
  local cur
  cur=$(running_demo)
  if [[ -n $cur ]]; then
    echo "demo: already running (pid ${cur%% *}, state ${cur#* }); stop it with: make demo-down" >&2
    exit 1
  fi
  # a state file without a live demo is left over from a crash
  rm -f "${STATE_FILES[@]}"
  if [[ ! -x dist/piha ]]; then
    echo "demo: dist/piha missing, building it"
    node scripts/build.mjs
  fi

  : >"$LOG"
  # own session (setsid): closing the terminal does not reach it; stdin from /dev/null
  setsid nohup node --import tsx test/lab/demo.ts >>"$LOG" 2>&1 </dev/null &
  local pid=$!
  local deadline=$((SECONDS + 30))
  until grep -qx "$END" "$LOG"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: failed to start; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "demo: not ready after 30 s; last lines of $LOG:" >&2
      tail -n 30 "$LOG" >&2
      echo "demo: stopping it" >&2
      stop_pid "$pid" >&2 || true
      down >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  print_instructions
  echo
  echo "logs: tail -f $LOG"
}

down() {
  local cur pid f dir prefix='' killed=''
  cur=$(running_demo)
  if [[ -z $cur ]]; then
    echo "no demo running"
    rm -f "${STATE_FILES[@]}"
  else
    pid=${cur%% *}
    f=${cur#* }
    dir=$(node -e 'try { console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).dir ?? ""); } catch { console.log(""); }' "$f")
    prefix=$(node -e 'try { console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).prefix ?? ""); } catch { console.log(""); }' "$f")
    echo "stopping demo (pid $pid)"
    if ! stop_pid "$pid"; then
      killed=1
      # its config/socket dir (the namespaces and daemons go with the safety net below)
      if [[ $dir == /tmp/piha-lab-* ]]; then rm -rf -- "$dir"; fi
    fi
    rm -f "$f"
    [[ -f $LOG ]] && grep -E 'stopping the demo|demo stopped' "$LOG" | tail -n 2 || true
  fi
  # Safety net: namespaces of lab runs whose owner process is dead (never a live run's),
  # plus, after a SIGKILL, the demo's own ones (its pid may not be reaped yet).
  node --import tsx -e '
    (async () => {
      const { cleanupStaleLabs, listLabNamespaces, run } = await import(process.argv[1]);
      const removed = await cleanupStaleLabs();
      const own = process.argv[2];
      if (own && /^piha-[0-9a-f]{4}p[0-9]+$/.test(own)) {
        for (const { ns } of await listLabNamespaces()) {
          if (!ns.startsWith(own + "-")) continue;
          const r = await run("ip", ["netns", "pids", ns]);
          for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
            try { process.kill(pid, "SIGKILL"); } catch {}
          }
          await run("ip", ["netns", "del", ns]);
          removed.push(ns);
        }
      }
      console.log(removed.length ? `removed stale lab namespaces: ${removed.join(" ")}` : "no stale lab namespaces");
    })().catch((e) => { console.error(`stale lab cleanup failed: ${e}`); process.exit(1); });
  ' "$ROOT/test/lab/lab.ts" ${killed:+"$prefix"}
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
