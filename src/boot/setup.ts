// `piha boot-setup`: run by piha-boot-setup.service at every boot, before the network comes
// up. One SD-card image serves every node, so each node works out here which nodes: entry it
// is and configures itself from the boot partition:
//   - hostname (/etc/hostname, /etc/hosts, the kernel's) = the node's name;
//   - the cluster interface (piha-network.yaml: dhcp, static with the node's addr, or none),
//     as a systemd-networkd file, or a NetworkManager keyfile on Raspberry Pi OS;
//   - the cluster key, if one was dropped on the boot partition (moved to /etc/piha, 0600).
// Every step writes only when the content differs, so a second boot changes nothing. It never
// fails the boot: problems are printed (journal) and the daemon's own start reports a bad
// piha.yaml on the status endpoint (see fault-server.ts).

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatErrors, loadConfigFile, readNodeFile, resolveLocalNode, type NodeConfig } from '../config/index.ts';
import { DEFAULT_NETWORK, NETWORK_FILE, parseNetwork, renderNetworkd, renderNetworkManager, sameSubnet, type NetworkSettings } from './network.ts';

export const BOOT_DIR = '/boot/firmware';
/** A cluster key dropped here is moved into the root filesystem (FAT has no permissions). */
export const BOOT_KEY_FILE = 'piha-authkey';

export interface BootSetupOptions {
  /** '/' on a node; a scratch directory in tests. Every path below is inside it. */
  root: string;
  configPath: string;
  bootDir?: string;
  nodeName?: string;
  localMacs: string[];
  localAddrs: string[];
  /** Sets the running kernel's hostname; left out in tests. */
  setKernelHostname?: (name: string) => void;
  /** Forces the network backend; by default NetworkManager when it is installed, else networkd. */
  backend?: 'networkd' | 'networkmanager';
}

export interface BootSetupResult {
  node?: NodeConfig;
  /** One line per step: what was done or found. */
  log: string[];
  /** What the user must fix; the boot goes on. */
  problems: string[];
}

export function bootSetup(o: BootSetupOptions): BootSetupResult {
  const log: string[] = [];
  const problems: string[] = [];
  const at = (p: string) => join(o.root, p);
  const bootDir = o.bootDir ?? BOOT_DIR;

  // 1. The cluster configuration (the same file on every node).
  const { config, errors } = loadConfigFile(at(o.configPath));
  if (!config) {
    problems.push(`${o.configPath}: ${errors.length} error${errors.length === 1 ? '' : 's'} (the daemon will not start; edit ${bootDir}/piha.yaml):\n${formatErrors(errors, o.configPath)}`);
  }

  // The network file decides whether an unknown identity is a problem at this point.
  const settings = readNetworkSettings(at(join(bootDir, NETWORK_FILE)), `${bootDir}/${NETWORK_FILE}`, problems);

  // 2. Which node am I: --node, MAC, node file, address (see config/identity.ts).
  let node: NodeConfig | undefined;
  let nodeFileError: string | undefined;
  if (config) {
    let nodeFile;
    try {
      nodeFile = readNodeFile(at(join(bootDir, 'piha-node')));
    } catch (e) {
      nodeFileError = `${bootDir}/piha-node: ${(e as Error).message}`;
      problems.push(nodeFileError);
    }
    if (nodeFile) nodeFile = { ...nodeFile, path: join(bootDir, 'piha-node') }; // name it as the user sees it
    const who = resolveLocalNode(config, { nodeName: o.nodeName, localMacs: o.localMacs, localAddrs: o.localAddrs, nodeFile });
    if ('node' in who) {
      node = who.node;
      log.push(`this is node ${node.name} (id ${node.id}, ${node.addr})`);
    } else if (!nodeFileError) {
      // Before the network is up only the MAC or the node file can tell. With DHCP that is
      // normal: the daemon finds its entry by the address DHCP gives (a reservation).
      const how = `list this Pi's mac: in nodes:, or write its name into ${bootDir}/piha-node`;
      if (settings?.mode === 'static') problems.push(`which node is this? ${who.error} — ${how}`);
      else log.push(`node not known before DHCP (the daemon finds it by its address; to set the hostname at boot, ${how})`);
    }
  }

  // 3. Hostname.
  if (node) setHostname(o, hostnameFor(node.name), log);

  // 4. The cluster interface.
  const iface = config?.cluster.interface ?? 'eth0';
  configureNetwork(o, iface, settings, node, `${bootDir}/${NETWORK_FILE} and ${bootDir}/piha.yaml`, log, problems);

  // 5. A cluster key dropped on the boot partition.
  installBootKey(o, at(join(bootDir, BOOT_KEY_FILE)), config?.cluster.authkey ?? '/etc/piha/authkey', log, problems);

  return { node, log, problems };
}

/** Host names allow letters, digits and '-'; node names also allow '_' and '.'. */
export function hostnameFor(name: string): string {
  return name.replace(/[_.]/g, '-').slice(0, 63);
}

function setHostname(o: BootSetupOptions, name: string, log: string[]): void {
  const changedName = writeIfChanged(join(o.root, 'etc/hostname'), `${name}\n`);
  // Debian resolves its own name through the 127.0.1.1 line of /etc/hosts (sudo, ssh).
  const hostsPath = join(o.root, 'etc/hosts');
  const hosts = existsSync(hostsPath) ? readFileSync(hostsPath, 'utf8') : '127.0.0.1\tlocalhost\n';
  const lines = hosts.replace(/\n$/, '').split('\n');
  const i = lines.findIndex((l) => /^127\.0\.1\.1\s/.test(l));
  if (i >= 0) lines[i] = `127.0.1.1\t${name}`;
  else lines.push(`127.0.1.1\t${name}`);
  const changedHosts = writeIfChanged(hostsPath, lines.join('\n') + '\n');
  o.setKernelHostname?.(name);
  log.push(`hostname ${name} (${changedName || changedHosts ? 'set' : 'unchanged'})`);
}

/** The network file's settings; null when it is broken (reported). No file: DHCP. */
function readNetworkSettings(path: string, shown: string, problems: string[]): NetworkSettings | null {
  if (!existsSync(path)) return { ...DEFAULT_NETWORK };
  const { settings, errors } = parseNetwork(readFileSync(path, 'utf8'));
  if (settings) return settings;
  problems.push(`${shown}: ${errors.join('; ')}`);
  return null;
}

function configureNetwork(
  o: BootSetupOptions,
  iface: string,
  wanted: NetworkSettings | null,
  node: NodeConfig | undefined,
  source: string,
  log: string[],
  problems: string[],
): void {
  const backend = o.backend ?? (existsSync(join(o.root, 'usr/sbin/NetworkManager')) ? 'networkmanager' : 'networkd');
  const file =
    backend === 'networkd' ? join(o.root, `etc/systemd/network/10-piha-${iface}.network`)
    : join(o.root, `etc/NetworkManager/system-connections/piha-${iface}.nmconnection`);
  if (wanted === null) {
    // A broken network file: keep what worked last time (the Pi stays where it was);
    // on a first boot, DHCP.
    if (existsSync(file)) {
      log.push(`${iface}: unchanged (last configuration kept until ${NETWORK_FILE} is fixed)`);
      return;
    }
    problems.push(`${iface}: using DHCP until ${NETWORK_FILE} is fixed`);
    wanted = { ...DEFAULT_NETWORK };
  }
  if (wanted.mode === 'none') {
    const had = existsSync(file);
    if (had) rmSync(file);
    log.push(`${iface}: left to the system (mode: none)${had ? `; removed ${file.slice(o.root.length - 1)}` : ''}`);
    return;
  }
  let s = wanted;
  if (s.mode === 'static' && !node) {
    // Without knowing which node this is there is no address to set. The last configuration
    // written keeps the Pi at its usual address, where its status port explains the problem;
    // on a first boot DHCP at least makes it reachable.
    if (existsSync(file)) {
      problems.push(`${iface}: static address wanted but this node's entry is unknown — keeping the last network configuration`);
      log.push(`${iface}: unchanged (last configuration kept)`);
      return;
    }
    problems.push(`${iface}: static address wanted but this node's entry is unknown — using DHCP`);
    s = { ...s, mode: 'dhcp' };
  }
  if (s.mode === 'static' && node && s.gateway && !sameSubnet(node.addr, s.gateway, s.prefix)) {
    problems.push(`${iface}: gateway ${s.gateway} is not in ${node.addr}/${s.prefix} (check prefix: and gateway:)`);
  }
  const render = backend === 'networkd' ? renderNetworkd : renderNetworkManager;
  const text = render(iface, s, node?.addr, source);
  // NetworkManager ignores keyfiles that others can read.
  const changed = writeIfChanged(file, text, backend === 'networkmanager' ? 0o600 : 0o644);
  const what = s.mode === 'static' ? `static ${node!.addr}/${s.prefix}${s.gateway ? ` via ${s.gateway}` : ''}` : 'DHCP';
  log.push(`${iface}: ${what} (${backend} ${changed ? 'configured' : 'unchanged'})`);
}

function installBootKey(o: BootSetupOptions, from: string, keyPath: string, log: string[], problems: string[]): void {
  if (!existsSync(from)) return;
  const text = readFileSync(from, 'latin1').trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    problems.push(`${BOOT_KEY_FILE} on the boot partition is not a cluster key (64 hex characters, from piha keygen); left as it is`);
    return;
  }
  const changed = writeIfChanged(join(o.root, keyPath), `${text.toLowerCase()}\n`, 0o600);
  // Every PC that reads the card can read the FAT partition: the key does not stay there.
  rmSync(from);
  log.push(`cluster key from the boot partition ${changed ? 'installed as' : 'matches'} ${keyPath} (removed from the boot partition)`);
}

/** Writes `text` unless the file already holds it; atomic (rename), so a power cut leaves the old or the new file. */
export function writeIfChanged(path: string, text: string, mode = 0o644): boolean {
  let same = false;
  try {
    same = readFileSync(path, 'utf8') === text && (statSync(path).mode & 0o777) === mode;
  } catch {
    /* missing: write it */
  }
  if (same) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.piha-tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode); // the umask may have cleared bits
  renameSync(tmp, path);
  return true;
}
