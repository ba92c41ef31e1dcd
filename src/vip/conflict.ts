// Address conflict detection for a held VIP: is another host on the LAN answering for it (a
// misconfigured device with the same address, a stale holder of another cluster)? The holder
// asks at each periodic re-announcement (garp.ts), with one time-limited probe process:
//
//   IPv4: arping -D -c 1 -w 1 -I IF VIP           (iputils-arping, duplicate address detection)
//   IPv6: ndisc6 -n -m -r 1 -w 500 VIP IF         (Debian package ndisc6, one neighbour solicitation)
//
// Measured in a namespace bridge (holder, rogue, third host; kernel 6.18, iputils-arping
// 20221126, ndisc6 1.0.5; the samples are test/unit/fixtures/conflict-probes.json):
//   * arping -D sends "who-has VIP tell 0.0.0.0" and stops at the first reply. Exit 0 = nobody
//     answered ("Received 0 response(s)"), 1 = an answer ("Unicast reply from VIP [MAC]  0.536ms"),
//     2 = could not probe ("arping: Device eth9 not available." on stderr, `Interface "eth0" is
//     down` on stdout). It takes the full -w 1 s when nobody answers.
//   * ndisc6 sends one NS from the interface's link-local address to the VIP's solicited-node
//     group; -m prints every answer in the wait ("Target link-layer address: MAC" then " from
//     ADDR"), not only the first. Exit 0 = answered, 2 = "No response.", 1 = could not probe
//     ("eth0: No such device", "Sending ICMPv6 packet: Network is unreachable"). -n: no reverse
//     DNS lookup of the answering address (a Pi with a dead resolver would hang in it).
//   * The holder's own kernel never answered its own probe (20 + 10 runs with the VIP on the
//     probing interface: 0 replies), in either family: arping ignores the frames it sends
//     itself, and the NS looped back to the sender's stack gets no answer. A third host that
//     probes sees both holders (so the probe itself works both ways). Replies carrying a MAC of
//     this host are dropped all the same (ownMacs: every interface, because with the default
//     arp_ignore=0 a second interface of ours on the same LAN answers ARP for the VIP too).
//     Our own announcements sent while a probe listens (the periodic na6 / arping -U -A go
//     out at the same moment) were never reported either (5 + 3 runs).
//   * ndisc6 also reports an unsolicited NA for the VIP from another host heard while it
//     waits (a rogue announcing itself): that is a conflict too.
// Limit: arping -D stops at its first reply, so if that one came from another interface of
// ours a rogue answering later in the same second is seen only at a later probe.
//
// Detection is a diagnostic, not part of the safety argument: the other host is not a cluster
// member, quorum still decides who holds the VIP, nothing is released. A missing tool turns
// detection off for that family (one warning at start, daemon.ts).

import { execFile } from 'node:child_process';

/** One probe's result: the MACs that answered for the VIP (possibly ours), or why it failed. */
export type ProbeOutcome = { ok: true; macs: string[] } | { ok: false; error: string };

export interface ConflictToolPaths {
  /** iputils arping (IPv4); null = IPv4 VIPs are not probed. */
  arpingPath?: string | null;
  /** ndisc6 (IPv6); null = IPv6 VIPs are not probed. */
  ndisc6Path?: string | null;
}

/** The probe process for `ip`: [file, argv], or null when the family's tool is not available. */
export function probeCommand(ifname: string, ip: string, paths: ConflictToolPaths, netns?: string): [string, string[]] | null {
  const v6 = ip.includes(':');
  const bin = v6 ? paths.ndisc6Path : paths.arpingPath;
  if (!bin) return null;
  const args = v6 ? ['-n', '-m', '-r', '1', '-w', '500', ip, ifname] : ['-D', '-c', '1', '-w', '1', '-I', ifname, ip];
  return netns ? ['ip', ['netns', 'exec', netns, bin, ...args]] : [bin, args];
}

const MAC = '[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5}';
const ARPING_REPLY = new RegExp(`^(?:Unicast|Broadcast) reply from (\\S+) \\[(${MAC})\\]`, 'gm');
const NDISC6_TARGET = new RegExp(`^Target link-layer address: (${MAC})\\s*$`, 'gm');

/** aa:bb:cc:dd:ee:ff, lower case, two digits per byte. */
export function normalMac(mac: string): string {
  return mac
    .split(':')
    .map((b) => b.toLowerCase().padStart(2, '0'))
    .join(':');
}

const firstLine = (s: string): string => s.trim().split('\n').filter(Boolean).join('; ').slice(0, 300);

/**
 * `arping -D -c 1 -w 1 -I IF VIP`: exit 0 = nobody answered, 1 = the replies it printed,
 * anything else = the probe failed. `ip` (the VIP) only keeps replies that are about it.
 */
export function parseArpingDad(ip: string, code: number | null, stdout: string, stderr: string): ProbeOutcome {
  if (code === 0) return { ok: true, macs: [] };
  if (code === 1) {
    const macs = [...stdout.matchAll(ARPING_REPLY)].filter((m) => m[1] === ip).map((m) => normalMac(m[2]!));
    if (macs.length) return { ok: true, macs: [...new Set(macs)] };
    return { ok: false, error: `arping reported an answer it did not print: ${firstLine(stdout + stderr) || 'no output'}` };
  }
  return { ok: false, error: `arping exit ${code}: ${firstLine(stderr + '\n' + stdout) || 'no output'}` };
}

/** `ndisc6 -n -m -r 1 -w 500 VIP IF`: exit 0 = the answers it printed, 2 = none, else failed. */
export function parseNdisc6(code: number | null, stdout: string, stderr: string): ProbeOutcome {
  if (code === 2 && /No response\./.test(stdout)) return { ok: true, macs: [] };
  if (code === 0) {
    const macs = [...stdout.matchAll(NDISC6_TARGET)].map((m) => normalMac(m[1]!));
    if (macs.length) return { ok: true, macs: [...new Set(macs)] };
    return { ok: false, error: `ndisc6 reported an answer it did not print: ${firstLine(stdout + stderr) || 'no output'}` };
  }
  return { ok: false, error: `ndisc6 exit ${code}: ${firstLine(stderr + '\n' + stdout) || 'no output'}` };
}

/** The parser for `ip`'s family. */
export function parseProbe(ip: string, code: number | null, stdout: string, stderr: string): ProbeOutcome {
  return ip.includes(':') ? parseNdisc6(code, stdout, stderr) : parseArpingDad(ip, code, stdout, stderr);
}

/** The answering MACs that are not this host's. */
export function otherMacs(answered: string[], own: Iterable<string>): string[] {
  const mine = new Set([...own].map(normalMac));
  return [...new Set(answered.map(normalMac))].filter((m) => !mine.has(m));
}

/** Every link-layer address in `ip -j link show` output (all interfaces), lower case. */
export function parseLinkMacs(json: string): string[] {
  const links = JSON.parse(json.trim() || '[]') as { address?: string; link_type?: string }[];
  return links
    .map((l) => l.address ?? '')
    .filter((a) => new RegExp(`^${MAC}$`).test(a) && !/^0{1,2}(:0{1,2}){5}$/.test(a))
    .map(normalMac);
}

/**
 * This host's MACs (every interface), from `ip -j link show` in a process of its own (never
 * the ip batch process: see VipManager.linkUp). Only asked for when a probe got an answer.
 */
export function localMacs(netns?: string, ipPath = 'ip', timeoutMs = 2000): Promise<string[]> {
  const argv = [...(netns ? ['-n', netns] : []), '-j', 'link', 'show'];
  return new Promise((resolve, reject) => {
    execFile(ipPath, argv, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ip link show failed: ${String(stderr || err.message).trim()}`));
      try {
        resolve(parseLinkMacs(stdout));
      } catch (e) {
        reject(new Error(`cannot parse ip -j link show: ${String(e)}`));
      }
    });
  });
}

/**
 * Which families' detection is off for lack of a tool, as warnings (one per tool). Only for
 * the families of `ips` (none configured, nothing to say).
 */
export function conflictToolWarnings(ips: string[], paths: ConflictToolPaths): { family: 'ipv4' | 'ipv6'; message: string }[] {
  const out: { family: 'ipv4' | 'ipv6'; message: string }[] = [];
  if (!paths.arpingPath && ips.some((ip) => !ip.includes(':'))) {
    out.push({ family: 'ipv4', message: 'address conflict detection for IPv4 VIPs is off: arping is not installed (apt-get install iputils-arping)' });
  }
  if (!paths.ndisc6Path && ips.some((ip) => ip.includes(':'))) {
    out.push({ family: 'ipv6', message: 'address conflict detection for IPv6 VIPs is off: ndisc6 is not installed (apt-get install ndisc6)' });
  }
  return out;
}
