// "Which node am I?" One SD-card image serves every Pi, so the daemon finds its own entry
// in nodes: by --node, else by MAC address, else by the node file on the boot partition (one
// line naming the node, written from any PC), else by IPv4 address.

import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { normaliseMac } from './formats.ts';
import { closest } from './suggest.ts';
import type { NodeConfig, PihaConfig } from './types.ts';

export interface IdentityOpts {
  nodeName?: string;
  localAddrs: string[];
  localMacs?: string[];
  /** The node file's content (see readNodeFile), or undefined when there is none. */
  nodeFile?: NodeFile;
}

/** The node file: a one-line file on the boot partition naming this machine's node. */
export interface NodeFile {
  path: string;
  name: string;
}

/** Where the image keeps the node file (the FAT boot partition, editable from any PC). */
export const DEFAULT_NODE_FILE = '/boot/firmware/piha-node';

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

  // The node file comes before addresses: at boot the address is set *from* the node's entry
  // (static addresses), so it cannot be what finds the entry.
  if (opts.nodeFile) {
    const { path, name } = opts.nodeFile;
    const node = nodes.find((n) => n.name === name);
    if (node) return { node };
    const guess = closest(name, nodes.map((n) => n.name));
    return {
      error: `${path} names node ${JSON.stringify(name)}, which is not in nodes:${guess ? ` (did you mean ${guess}?)` : ''}; the nodes are ${nodes.map((n) => n.name).join(', ')} (fix the file or remove it)`,
    };
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

/**
 * Reads the node file: the first line that is neither empty nor a # comment, trimmed.
 * Returns undefined when the file does not exist or names nothing (then identity falls back
 * to addresses); any other read error is thrown, since guessing would be worse.
 */
export function readNodeFile(path: string = DEFAULT_NODE_FILE): NodeFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Written on Windows, the file may start with a byte-order mark and end lines with CR LF.
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  return line === undefined ? undefined : { path, name: line };
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

/**
 * This machine's MAC addresses, lower case, without loopback's all-zero one. Also read from
 * /sys/class/net: node:os lists only interfaces that have an address, and at boot (before DHCP
 * or a static address) the MAC is what identifies the node.
 */
export function localMacs(sysClassNet = '/sys/class/net'): string[] {
  const out: string[] = [];
  const add = (m: string) => {
    const mac = m.trim().toLowerCase();
    if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && mac !== '00:00:00:00:00:00' && !out.includes(mac)) out.push(mac);
  };
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (!a.internal) add(a.mac);
  }
  let names: string[] = [];
  try {
    names = readdirSync(sysClassNet);
  } catch {
    return out; // not Linux, or no sysfs: node:os is all there is
  }
  for (const name of names) {
    try {
      // type 1 = ARPHRD_ETHER (Ethernet and Wi-Fi); loopback is 772.
      if (readFileSync(`${sysClassNet}/${name}/type`, 'utf8').trim() === '1') add(readFileSync(`${sysClassNet}/${name}/address`, 'utf8'));
    } catch {
      /* the interface went away meanwhile */
    }
  }
  return out;
}
