// The image's own commands, dispatched from main.ts:
//   piha boot-setup [--config FILE] [--node NAME]     hostname, interface, key from the boot partition (setup.ts)
//   piha fault-server [--config FILE] [--node NAME] [--status-bind HOST:PORT]
//                                                    explain why the daemon cannot run (fault-server.ts)
// Both are run by systemd units in overlays/ and are not meant to be typed by hand.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { DEFAULT_CONFIG_PATH, DEFAULT_NODE_FILE, loadConfigFile, localAddresses, localMacs } from '../config/index.ts';
import { runFaultServer } from './fault-server.ts';
import { bootSetup } from './setup.ts';

const run = promisify(execFile);

export const BOOT_COMMANDS = ['boot-setup', 'fault-server'];

export async function bootCommand(cmd: string, words: string[], flags: Map<string, string | true>): Promise<number> {
  if (words.length > 0) {
    process.stderr.write(`Error: unexpected "${words[0]}"; usage: piha ${cmd} [--config FILE] [--node NAME]\n`);
    return 2;
  }
  const configPath = (flags.get('config') as string | undefined) ?? process.env.PIHA_CONFIG ?? DEFAULT_CONFIG_PATH;
  const nodeName = flags.get('node') as string | undefined;
  const nodeFilePath = process.env.PIHA_NODE_FILE ?? DEFAULT_NODE_FILE;

  if (cmd === 'boot-setup') {
    // It rewrites /etc/hostname and the network configuration: only where the image's unit
    // says this machine is meant to be set up this way, never on a laptop by a stray command.
    if (!existsSync('/etc/systemd/system/piha-boot-setup.service') && !existsSync('/usr/lib/systemd/system/piha-boot-setup.service')) {
      process.stderr.write('Error: piha boot-setup configures a node of the piha SD-card image (piha-boot-setup.service); nothing done here\n');
      return 2;
    }
    waitForInterface(configPath);
    const r = bootSetup({
      root: '/',
      configPath,
      nodeName,
      localMacs: localMacs(),
      localAddrs: localAddresses(),
      setKernelHostname: (name) => writeFileSync('/proc/sys/kernel/hostname', name),
    });
    for (const l of r.log) process.stdout.write(`piha boot-setup: ${l}\n`);
    for (const p of r.problems) process.stderr.write(`piha boot-setup: PROBLEM: ${p}\n`);
    // Never fail the boot over this: the problems are in the journal, and a daemon that
    // cannot start shows them on its status port (fault-server).
    return 0;
  }

  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((r) => (stop = r));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const why = await runFaultServer({
    configPath,
    nodeName,
    nodeFilePath,
    localMacs,
    localAddrs: localAddresses,
    statusBind: flags.get('status-bind') as string | undefined,
    stateFile: '/run/piha/fault.json',
    attemptsFile: '/run/piha/fault-attempts',
    lastLog: () => {
      try {
        return execFileSync('journalctl', ['-u', 'piha.service', '-n', '15', '-o', 'cat', '--no-pager'], { encoding: 'utf8', timeout: 5000 })
          .split('\n')
          .filter((l) => l !== '');
      } catch {
        return [];
      }
    },
    startDaemon: async () => {
      // A crash loop leaves the unit at its start limit; clear it, then start without waiting
      // (piha.service Conflicts= with this server's unit, which systemd stops first).
      await run('systemctl', ['reset-failed', 'piha.service']).catch(() => undefined);
      await run('systemctl', ['--no-block', 'start', 'piha.service']);
    },
    log: (l) => process.stdout.write(`${l}\n`),
    stop: stopped,
  });
  process.stdout.write(`fault-server: ${why}\n`);
  return 0;
}

/**
 * At boot the network driver may still be loading (a Pi 3's Ethernet is a USB device that
 * appears seconds after udev starts): when the config identifies nodes by mac:, wait up to
 * 30 s for the cluster interface, whose MAC is then read from /sys/class/net.
 */
function waitForInterface(configPath: string): void {
  const { config } = loadConfigFile(configPath);
  if (!config || !config.nodes.some((n) => n.mac)) return;
  const dev = `/sys/class/net/${config.cluster.interface}`;
  const deadline = Date.now() + 30_000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(dev) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 200);
  if (!existsSync(dev)) process.stderr.write(`piha boot-setup: ${config.cluster.interface} did not appear within 30 s\n`);
}
