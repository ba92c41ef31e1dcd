// "Which node am I?" One SD-card image serves every Pi, so the daemon finds its own entry
// in nodes: by --node, else by MAC address, else by IPv4 address.

import { networkInterfaces } from 'node:os';
import { normaliseMac } from './formats.ts';
import { closest } from './suggest.ts';
import type { NodeConfig, PihaConfig } from './types.ts';

export interface IdentityOpts {
  nodeName?: string;
  localAddrs: string[];
  localMacs?: string[];
}

export function resolveLocalNode(config: PihaConfig, opts: IdentityOpts): { node: NodeConfig } | { error: string } {
  const nodes = config.nodes;
  const list = (ns: NodeConfig[], show: (n: NodeConfig) => string) => ns.map((n) => `${n.name} (${show(n)})`).join(', ');

  if (opts.nodeName !== undefined) {
    const node = nodes.find((n) => n.name === opts.nodeName);
    if (node) return { node };
    const guess = closest(opts.nodeName, nodes.map((n) => n.name));
    return {
      error: `--node ${opts.nodeName}: no such node in nodes:${guess ? ` (did you mean ${guess}?)` : ''}; the nodes are ${nodes.map((n) => n.name).join(', ')}`,
    };
  }

  // MACs first: addresses may come from DHCP or not be configured yet, the MAC is fixed.
  if (opts.localMacs && nodes.some((n) => n.mac)) {
    const mine = new Set(opts.localMacs.map((m) => normaliseMac(m) ?? m.toLowerCase()));
    const byMac = nodes.filter((n) => n.mac !== undefined && mine.has(n.mac));
    if (byMac.length === 1) return { node: byMac[0] };
    if (byMac.length > 1) {
      return { error: `several nodes have a MAC address of this machine: ${list(byMac, (n) => n.mac!)}; pass --node NAME` };
    }
  }

  const mine = new Set(opts.localAddrs);
  const byAddr = nodes.filter((n) => mine.has(n.addr));
  if (byAddr.length === 1) return { node: byAddr[0] };
  if (byAddr.length > 1) {
    return { error: `several nodes have an address on this machine: ${list(byAddr, (n) => n.addr)}; pass --node NAME` };
  }
  const have = opts.localAddrs.length > 0 ? opts.localAddrs.join(', ') : 'no IPv4 address';
  return { error: `no node in nodes: has an address on this machine (this machine has ${have}); pass --node NAME` };
}

/** This machine's IPv4 addresses, loopback excluded (no node uses one). */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && !out.includes(a.address)) out.push(a.address);
    }
  }
  return out;
}

/** This machine's MAC addresses, lower case, without loopback's all-zero one. */
export function localMacs(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const mac = a.mac.toLowerCase();
      if (!a.internal && mac !== '00:00:00:00:00:00' && !out.includes(mac)) out.push(mac);
    }
  }
  return out;
}
