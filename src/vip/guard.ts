// The address guard: a tiny bash process beside the daemon that removes the VIPs when the
// daemon stops telling it, in time, that it still holds them. It covers a killed daemon (EOF
// on its stdin: remove at once) and a frozen one (no "pet" before the deadline: remove at
// the deadline) — in every profile, including `fast`, whose lease is too short for the
// kernel's whole-second address lifetimes, and without the kernel's global lifetime timer.
//
// Protocol, one line per message on the guard's stdin:
//   pet <seconds> <ip/cidr,ip/cidr,...|->   the listed addresses must be gone <seconds> from now
//                                           unless another pet arrives first ('-' = none held)
//   pet <seconds>                           the same addresses as the last pet, a new deadline
//                                           (what the daemon writes while the list stays the
//                                           same: bash's read takes a pipe one byte per read(2),
//                                           and this line is ~10 bytes where a full one with a
//                                           VIP is ~26; 2-3 pets a second on a holder)
//   stop                                    clean exit, remove nothing (the daemon released)
// bash's `read -t` takes fractional seconds and needs no polling: the guard sleeps in read().

import { spawn, type ChildProcess } from 'node:child_process';

// First the guard asks for real-time priority (SCHED_FIFO 20, util-linux's chrt; needs root /
// CAP_SYS_NICE, which piha.service has): on a busy or CPU-starved machine a normal-priority
// guard can wake late, and in the fast profile (no kernel-lifetime backstop) a late guard is
// two holders — the soak measured 143 ms of them at load 5.7 on 2 cores. It sleeps in read()
// almost all the time, so the priority costs nothing; its `ip addr del` inherits it, and the
// kernel's RT throttling (sched_rt_runtime_us) bounds it all the same.
const SCRIPT = String.raw`
if chrt -f -p 20 $$ >/dev/null 2>&1; then echo "priority fifo"; else echo "priority normal"; fi
ifname="$1"; ips=""; t=3600
while :; do
  IFS=' ' read -r -t "$t" cmd a b; rc=$?
  if [ $rc -eq 0 ]; then
    case "$cmd" in
      pet) t="$a"; case "$b" in "") ;; "-") ips="" ;; *) ips="$b" ;; esac ;;
      stop) exit 0 ;;
    esac
    continue
  fi
  # Timed out (rc > 128) or EOF (rc = 1): the daemon is frozen or gone. Drop what it held.
  for x in $(printf '%s' "$ips" | tr ',' ' '); do ip addr del "$x" dev "$ifname" 2>/dev/null && echo "removed $x"; done
  ips=""; t=3600
  [ $rc -le 128 ] && exit 0
done
`;

export interface GuardOptions {
  ifname: string;
  netns?: string; // tests only
  onRemoved?: (addr: string) => void;
  onExit?: (code: number | null) => void;
  /** 'fifo' when the guard runs at real-time priority, 'normal' when it could not get it. */
  onPriority?: (p: 'fifo' | 'normal') => void;
}

export class AddressGuard {
  private child: ChildProcess | null = null;
  private lastList = '';
  private lastDeadline = -Infinity;

  constructor(private readonly o: GuardOptions) {}

  start(): void {
    const argv = ['-c', SCRIPT, 'piha-guard', this.o.ifname];
    this.child = this.o.netns
      ? spawn('ip', ['netns', 'exec', this.o.netns, 'bash', ...argv], { stdio: ['pipe', 'pipe', 'ignore'] })
      : spawn('bash', argv, { stdio: ['pipe', 'pipe', 'ignore'] });
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      for (const line of d.split('\n')) {
        if (line.startsWith('removed ')) this.o.onRemoved?.(line.slice(8));
        else if (line === 'priority fifo' || line === 'priority normal') this.o.onPriority?.(line.slice(9) as 'fifo' | 'normal');
      }
    });
    const c = this.child;
    c.on('exit', (code) => {
      if (this.child === c) this.child = null;
      this.o.onExit?.(code);
    });
    this.lastList = '';
    this.lastDeadline = -Infinity;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /**
   * `addrs` must be gone by `deadline` (monotonic ms; `now` is the same clock). Pets that
   * change nothing the guard would do are not written (each write wakes the guard and costs
   * the daemon a stream write; the daemon pets on every step, dozens of times a second):
   *  - nothing held, and the guard already knows it;
   *  - the same addresses, with a deadline later than the one the guard has by less than
   *    max(20 ms, min(250 ms, a fifth of the time left)). The guard then keeps the earlier
   *    deadline, which is the safe side: it may act up to that much before the lease ends,
   *    never after. With the lan profile (renewal every 100 ms, ~1.25 s left) the guard is
   *    told every ~300 ms instead of every 100 ms.
   */
  pet(addrs: string[], deadline: number, now: number): void {
    if (!this.child) return;
    const list = addrs.length ? addrs.join(',') : '-';
    if (list === this.lastList) {
      if (list === '-') return;
      const skipMs = Math.max(20, Math.min(250, (deadline - now) / 5));
      if (deadline >= this.lastDeadline && deadline - this.lastDeadline < skipMs) return;
    }
    const same = list === this.lastList;
    this.lastList = list;
    this.lastDeadline = deadline;
    const secs = addrs.length ? Math.max(0, deadline - now) / 1000 : 3600;
    this.child.stdin!.write(same ? `pet ${secs.toFixed(3)}\n` : `pet ${secs.toFixed(3)} ${list}\n`);
  }

  /** Clean exit: the daemon has released everything itself. */
  stop(): void {
    if (!this.child) return;
    this.child.stdin!.write('stop\n');
    this.child.stdin!.end();
    this.child = null;
  }
}
