// How a node sets up its cluster interface at boot: the network file on the boot partition
// (piha-network.yaml, the same on every card) says dhcp, static or none; a static address is
// the node's own addr: from piha.yaml, so one file serves every node. This module only
// parses and renders; setup.ts decides what to write where.
//
// A separate file rather than a section of piha.yaml: the daemon's parser refuses unknown
// keys (a misspelt key must not fall back silently), and how a Pi reaches its LAN is not
// cluster configuration that every node must agree on.

import { parseDocument } from 'yaml';
import { isIPv4 } from '../config/formats.ts';

export const NETWORK_FILE = 'piha-network.yaml';

export type NetworkMode = 'dhcp' | 'static' | 'none';

export interface NetworkSettings {
  /** dhcp: ask the router; static: this node's addr with prefix/gateway/dns; none: leave the interface alone. */
  mode: NetworkMode;
  prefix: number;
  gateway?: string;
  dns: string[];
}

export const DEFAULT_NETWORK: NetworkSettings = { mode: 'dhcp', prefix: 24, dns: [] };

const KEYS = ['mode', 'prefix', 'gateway', 'dns'];

/** Parses the network file. Every problem is listed; with any, the settings are null. */
export function parseNetwork(text: string): { settings: NetworkSettings | null; errors: string[] } {
  const errors: string[] = [];
  const doc = parseDocument(text.replace(/^\uFEFF/, ''));
  if (doc.errors.length > 0) return { settings: null, errors: doc.errors.map((e) => `YAML syntax error: ${e.message.split('\n')[0]}`) };
  const raw: unknown = doc.toJS();
  if (raw === null || raw === undefined) return { settings: { ...DEFAULT_NETWORK }, errors: [] }; // only comments
  if (typeof raw !== 'object' || Array.isArray(raw)) return { settings: null, errors: ['the file must be a mapping like "mode: dhcp"'] };
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.includes(k)) errors.push(`unknown key ${JSON.stringify(k)} (the keys are ${KEYS.join(', ')})`);

  const s: NetworkSettings = { ...DEFAULT_NETWORK, dns: [] };
  if (r.mode !== undefined) {
    if (r.mode === 'dhcp' || r.mode === 'static' || r.mode === 'none') s.mode = r.mode;
    else errors.push(`mode: ${JSON.stringify(r.mode)} is not one of dhcp, static, none`);
  }
  if (r.prefix !== undefined) {
    if (typeof r.prefix === 'number' && Number.isInteger(r.prefix) && r.prefix >= 1 && r.prefix <= 32) s.prefix = r.prefix;
    else errors.push(`prefix: ${JSON.stringify(r.prefix)} is not a prefix length 1-32 (a /24 network is prefix: 24)`);
  }
  if (r.gateway !== undefined && r.gateway !== null) {
    if (typeof r.gateway === 'string' && isIPv4(r.gateway)) s.gateway = r.gateway;
    else errors.push(`gateway: ${JSON.stringify(r.gateway)} is not an IPv4 address like 192.168.0.1`);
  }
  if (r.dns !== undefined && r.dns !== null) {
    const list = Array.isArray(r.dns) ? r.dns : [r.dns];
    for (const d of list) {
      if (typeof d === 'string' && isIPv4(d)) s.dns.push(d);
      else errors.push(`dns: ${JSON.stringify(d)} is not an IPv4 address (write dns: [192.168.0.1] or a single address)`);
    }
  }
  return errors.length > 0 ? { settings: null, errors } : { settings: s, errors: [] };
}

/** Whether two IPv4 addresses share the first `prefix` bits. */
export function sameSubnet(a: string, b: string, prefix: number): boolean {
  const n = (ip: string) => ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
  const block = 2 ** (32 - prefix);
  return Math.floor(n(a) / block) === Math.floor(n(b) / block);
}

const HEADER = (source: string) =>
  `# Written by "piha boot-setup" at every boot from ${source}.\n# Edit that file (or piha.yaml) instead: changes here are overwritten.\n`;

/**
 * A systemd-networkd .network file. `addr` is the node's address (static mode).
 * KeepConfiguration=yes: without it, networkd drops the "foreign" addresses of a link it
 * (re)starts managing, the VIPs included; a VIP is piha's to remove (it has its own lifetime).
 */
export function renderNetworkd(iface: string, s: NetworkSettings, addr: string | undefined, source: string): string {
  const lines = [HEADER(source), '[Match]', `Name=${iface}`, '', '[Network]'];
  if (s.mode === 'static' && addr) {
    lines.push(`Address=${addr}/${s.prefix}`);
    if (s.gateway) lines.push(`Gateway=${s.gateway}`);
    for (const d of s.dns) lines.push(`DNS=${d}`);
  } else {
    lines.push('DHCP=ipv4');
    for (const d of s.dns) lines.push(`DNS=${d}`);
  }
  lines.push('KeepConfiguration=yes', '');
  return lines.join('\n');
}

/** A NetworkManager keyfile (Raspberry Pi OS since Bookworm manages eth0 with NetworkManager). */
export function renderNetworkManager(iface: string, s: NetworkSettings, addr: string | undefined, source: string): string {
  const lines = [HEADER(source), '[connection]', `id=piha-${iface}`, 'type=ethernet', `interface-name=${iface}`, 'autoconnect=true',
    // Above the "Wired connection 1" NetworkManager makes by itself (priority 0).
    'autoconnect-priority=100', '', '[ipv4]'];
  if (s.mode === 'static' && addr) {
    lines.push('method=manual', `address1=${addr}/${s.prefix}${s.gateway ? `,${s.gateway}` : ''}`);
  } else {
    lines.push('method=auto');
  }
  if (s.dns.length > 0) lines.push(`dns=${s.dns.join(';')};`);
  lines.push('', '[ipv6]', 'method=auto', '');
  return lines.join('\n');
}
