// piha — the command line. Words a Pacemaker (pcs) or keepalived user already knows.
// Exit codes: 0 ok · 1 the cluster refused or the check failed · 2 usage or configuration
// error · 3 the daemon is not running or not reachable.

import { ControlError, controlCall } from './api/control.ts';
import { formatJson, formatNodes, formatStatus } from './api/format-status.ts';
import type { DaemonStatus } from './api/status-types.ts';
import { DEFAULT_CONFIG_PATH, DEFAULT_NODE_FILE, formatErrors, loadConfigFile, localAddresses, localMacs, readNodeFile, resolveLocalNode } from './config/index.ts';
import type { PihaConfig } from './config/types.ts';
import type { Command } from './core/types.ts';
import { writeKeyFile } from './transport/authkey.ts';
import { VERSION } from './version.ts';
import { execFileSync } from 'node:child_process';

const HELP = `piha ${VERSION} — virtual IP failover with quorum for Raspberry Pi clusters

Usage:
  piha daemon [--config FILE] [--node NAME] [--state-dir DIR] [--socket PATH] [--status-bind HOST:PORT]
  piha status [--json]                     cluster, nodes, quorum and resources (like pcs status)
  piha status nodes                        node list with last-seen ages
  piha node standby [NODE]                 move resources off NODE (default: this node)
  piha node unstandby [NODE]
  piha resource move NAME NODE             prefer NODE for NAME (a location constraint)
  piha resource clear NAME                 remove the constraint set by move
  piha resource cleanup NAME               reset fail counts of NAME on every node
  piha stonith list                        safety modes, watchdog, fence devices, fences in progress
  piha stonith fence NODE                  power NODE off now through its fence device (waits for the outcome)
  piha stonith confirm NODE                you switched NODE off by hand: let its VIPs move (pcs stonith confirm)
  piha stonith history                     fence outcomes this node has seen
  piha events [--follow] [--json]          cluster event history (quorum, VIP moves and why, fencing, ...); --follow waits for new ones
  piha resource create NAME [vip] ip=A [cidr_netmask=32] [op monitor interval=5s] [meta migration-threshold=2 failure-timeout=60s]
                                           add a VIP resource on every node (pcs words; --ip=A works too)
  piha resource update NAME key=value...   change a resource (e.g. meta resource-stickiness=60)
  piha resource delete NAME                stop it, then remove it from every node
  piha resource enable|disable NAME        run it again / keep it configured but stopped (target-role)
  piha resource config [NAME]              attributes, meta attributes and operations
  piha resource defaults [resource-stickiness=N]
  piha constraint [config]                 location and colocation constraints
  piha constraint colocation add A with B [SCORE]
                                           keep A on B's node (INFINITY, the default), or apart (-INFINITY)
  piha constraint colocation remove A B    drop that colocation constraint
  piha property [set stonith-enabled=true|false]
  piha config show                         the cluster configuration in force, as YAML (with its epoch)
  piha config export FILE                  write it into FILE (a piha.yaml: other sections kept)
  piha config push [FILE]                  make FILE's resources/defaults the cluster configuration
  piha config check [FILE]                 validate a configuration file, list every error
  piha config reload                       re-read the daemon's file: errors are reported, the running config kept
  piha keygen [FILE] [--force]             write a new cluster key (mode 0600); default /etc/piha/authkey
  piha cleanup [--config FILE]             remove this node's VIPs from the interface (used by systemd)
  piha --version | help

Common options:
  --config FILE   configuration (default ${DEFAULT_CONFIG_PATH}, or $PIHA_CONFIG)
  --socket PATH   control socket of the daemon to talk to (default from the config, else /run/piha/piha.sock)
`;

/** A wrong command line: cli() prints its message alone and exits 2. */
export class UsageError extends Error {}

interface Parsed {
  words: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['config', 'node', 'state-dir', 'socket', 'status-bind', 'log-level']);
const BOOL_FLAGS = new Set(['json', 'force', 'help', 'version', 'follow']);

export function parseArgs(argv: string[]): Parsed {
  const words: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') flags.set('help', true);
    else if (a === '-v' || a === '-V') flags.set('version', true);
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (VALUE_FLAGS.has(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined || v === '') throw new UsageError(`--${name} needs a value`);
        flags.set(name, v);
      } else if (BOOL_FLAGS.has(name) && eq < 0) flags.set(name, true);
      // pcs-style settings may also be written as flags: --ip=192.168.0.150 is ip=192.168.0.150.
      else if (name.length > 0 && eq > 0 && !BOOL_FLAGS.has(name)) words.push(a.slice(2));
      else throw new UsageError(`unknown option --${name} (see: piha help)`);
    } else words.push(a);
  }
  return { words, flags };
}

function configPath(p: Parsed): string {
  return (p.flags.get('config') as string | undefined) ?? process.env.PIHA_CONFIG ?? DEFAULT_CONFIG_PATH;
}

function loadConfigOrExit(path: string): PihaConfig {
  const { config, errors } = loadConfigFile(path);
  if (!config) {
    process.stderr.write(formatErrors(errors, path) + '\n');
    process.stderr.write(`${errors.length} error${errors.length === 1 ? '' : 's'} in ${path}; the daemon will not start until they are fixed\n`);
    process.exit(2);
  }
  return config;
}

/** The socket to reach: --socket, else the config's, else the default. */
function socketPath(p: Parsed): string {
  const s = p.flags.get('socket');
  if (typeof s === 'string') return s;
  const { config } = loadConfigFile(configPath(p));
  return config?.cluster.socket ?? '/run/piha/piha.sock';
}

async function call(p: Parsed, req: Parameters<typeof controlCall>[1], timeoutMs?: number) {
  try {
    return await controlCall(socketPath(p), req, timeoutMs);
  } catch (e) {
    if (e instanceof ControlError) {
      process.stderr.write(`Error: ${e.message}\n`);
      process.exit(3);
    }
    throw e;
  }
}

async function command(p: Parsed, cmd: Command): Promise<number> {
  // A fence waits for the device: off, read back (the daemon gives up after 60 s).
  const r = await call(p, { op: 'command', cmd }, cmd.op === 'fence' ? 75_000 : undefined);
  (r.ok ? process.stdout : process.stderr).write(`${r.ok ? '' : 'Error: '}${r.message ?? ''}\n`);
  return r.ok ? 0 : 1;
}

async function thisNodeName(p: Parsed): Promise<string> {
  const r = await call(p, { op: 'status' });
  return (r.data as DaemonStatus).node.name;
}

function need(words: string[], n: number, usage: string): void {
  if (words.length < n) throw new UsageError(`usage: ${usage}`);
  if (words.length > n) throw new UsageError(`unexpected "${words[n]}"; usage: ${usage}`);
}

export async function main(argv: string[]): Promise<number> {
  const p = parseArgs(argv);
  if (p.flags.has('version') || p.words[0] === 'version') {
    process.stdout.write(`piha ${VERSION}\n`);
    return 0;
  }
  const [cmd, sub, ...rest] = p.words;
  if (!cmd || cmd === 'help' || p.flags.has('help')) {
    process.stdout.write(HELP);
    return cmd || p.flags.has('help') ? 0 : 2;
  }
  // The SD-card image's boot-time commands (src/boot/cli.ts), run by its systemd units.
  if (cmd === 'boot-setup' || cmd === 'fault-server') return (await import('./boot/cli.ts')).bootCommand(cmd, p.words.slice(1), p.flags);
  switch (cmd) {
    case 'daemon': {
      need(p.words, 1, 'piha daemon [--config FILE] [--node NAME]');
      const path = configPath(p);
      const config = loadConfigOrExit(path);
      if (p.flags.has('state-dir')) config.cluster.stateDir = p.flags.get('state-dir') as string;
      if (p.flags.has('socket')) config.cluster.socket = p.flags.get('socket') as string;
      if (p.flags.has('status-bind')) config.cluster.statusBind = p.flags.get('status-bind') as string;
      const nodeFile = readNodeFile(process.env.PIHA_NODE_FILE ?? DEFAULT_NODE_FILE); // the image's boot partition
      const who = resolveLocalNode(config, { nodeName: p.flags.get('node') as string | undefined, localAddrs: localAddresses(), localMacs: localMacs(), nodeFile });
      if ('error' in who) {
        process.stderr.write(`Error: ${who.error}\n`);
        return 2;
      }
      const { Daemon } = await import('./daemon/daemon.ts');
      let stopping = false;
      const stop = (sig: string, then?: () => void) => {
        if (stopping) return;
        stopping = true;
        void d.stop(sig).then(() => {
          then?.();
          process.exit(0);
        });
      };
      const d = new Daemon({
        config,
        configPath: path,
        node: who.node,
        logLevel: p.flags.get('log-level') as string | undefined,
        // The button's long press: VIPs released, then the Pi shuts down (under systemd; a
        // daemon run by hand just exits). Restart=always would otherwise bring piha back.
        onExitRequest: (why) => stop(why, () => powerOffIfService()),
      });
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => void d.reload());
      try {
        await d.start();
      } catch (e) {
        process.stderr.write(`Error: ${(e as Error).message}\n`);
        return 2;
      }
      return new Promise<number>(() => undefined); // runs until a signal
    }
    case 'status': {
      const r = await call(p, { op: 'status' });
      const s = r.data as DaemonStatus;
      if (p.flags.has('json')) process.stdout.write(formatJson(s));
      else if (sub === 'nodes') process.stdout.write(formatNodes(s));
      else if (sub === undefined) process.stdout.write(formatStatus(s));
      else throw new UsageError(`unknown status view "${sub}" (try: piha status, piha status nodes, piha status --json)`);
      return 0;
    }
    case 'node': {
      if (sub !== 'standby' && sub !== 'unstandby') throw new UsageError('usage: piha node standby|unstandby [NODE]');
      if (rest.length > 1) throw new UsageError(`unexpected "${rest[1]}"; usage: piha node ${sub} [NODE]`);
      const node = rest[0] ?? (await thisNodeName(p));
      return command(p, { op: 'standby', node, on: sub === 'standby' });
    }
    case 'resource': {
      switch (sub) {
        case 'move':
          need(rest, 2, 'piha resource move NAME NODE');
          return command(p, { op: 'move', resource: rest[0], node: rest[1] });
        case 'clear':
          need(rest, 1, 'piha resource clear NAME');
          return command(p, { op: 'clear', resource: rest[0] });
        case 'cleanup':
          need(rest, 1, 'piha resource cleanup NAME');
          return command(p, { op: 'cleanup', resource: rest[0] });
        default: {
          const { resourceCommand } = await import('./api/config-cli.ts');
          const code = await resourceCommand(
            (req, ms) => call(p, req, ms),
            sub,
            rest,
            async () => (await call(p, { op: 'status' })).data as DaemonStatus,
          );
          if (code !== null) return code;
          throw new UsageError(
            'usage: piha resource create NAME ... | update NAME key=value... | delete NAME | enable|disable NAME | config [NAME] | defaults [key=value...] | move NAME NODE | clear NAME | cleanup NAME',
          );
        }
      }
    }
    case 'constraint': {
      const { constraintCommand } = await import('./api/config-cli.ts');
      const code = await constraintCommand((req, ms) => call(p, req, ms), sub, rest);
      if (code !== null) return code;
      throw new UsageError('usage: piha constraint [config] | constraint colocation add RESOURCE with OTHER [SCORE] | constraint colocation remove RESOURCE OTHER');
    }
    case 'property': {
      const { propertyCommand } = await import('./api/config-cli.ts');
      return propertyCommand((req, ms) => call(p, req, ms), sub, rest);
    }
    case 'config': {
      if (sub === 'show' || sub === 'export' || sub === 'push') {
        const { configCommand } = await import('./api/config-cli.ts');
        const { WordsError } = await import('./api/pcs-words.ts');
        try {
          return (await configCommand((req, ms) => call(p, req, ms), sub, rest, configPath(p)))!;
        } catch (e) {
          if (e instanceof WordsError) throw new UsageError(e.message);
          throw e;
        }
      }
      if (sub === 'reload') {
        if (rest.length) throw new UsageError('usage: piha config reload');
        const r = await call(p, { op: 'reload' });
        (r.ok ? process.stdout : process.stderr).write(`${r.message ?? ''}\n`);
        return r.ok ? 0 : 1;
      }
      if (sub !== 'check') throw new UsageError('usage: piha config check [FILE] | piha config reload');
      if (rest.length > 1) throw new UsageError(`unexpected "${rest[1]}"; usage: piha config check [FILE]`);
      const path = rest[0] ?? configPath(p);
      const { config, errors } = loadConfigFile(path);
      if (!config) {
        process.stdout.write(formatErrors(errors, path) + '\n');
        process.stdout.write(`${path}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
        return 1;
      }
      const t = config.cluster.timing;
      process.stdout.write(
        `${path}: OK — cluster ${config.cluster.name}, ${config.nodes.length} nodes, ${config.resources.length} resources, ` +
          `profile ${config.cluster.profile} (heartbeat ${t.heartbeatIntervalMs} ms, node timeout ${t.nodeTimeoutMs} ms, lease ${t.leaseMs} ms)\n`,
      );
      return 0;
    }
    case 'stonith': {
      const { formatStonithList, formatStonithHistory } = await import('./api/format-stonith.ts');
      switch (sub) {
        case 'list':
        case 'history': {
          need(rest, 0, `piha stonith ${sub}`);
          const s = (await call(p, { op: 'status' })).data as DaemonStatus;
          process.stdout.write(sub === 'list' ? formatStonithList(s) : formatStonithHistory(s));
          return 0;
        }
        case 'fence':
          need(rest, 1, 'piha stonith fence NODE');
          return command(p, { op: 'fence', node: rest[0] });
        case 'confirm':
          need(rest, 1, 'piha stonith confirm NODE');
          return command(p, { op: 'fence-confirm', node: rest[0] });
        default:
          throw new UsageError('usage: piha stonith list | fence NODE | confirm NODE | history');
      }
    }
    case 'events':
      need(p.words, 1, 'piha events [--follow] [--json]');
      return (await import('./api/events-cli.ts')).eventsCommand([], p.flags, { call: (req) => call(p, req), write: (s) => process.stdout.write(s) });
    case 'keygen': {
      if (rest.length) throw new UsageError('usage: piha keygen [FILE] [--force]');
      const file = sub ?? '/etc/piha/authkey';
      try {
        writeKeyFile(file, { force: p.flags.has('force') });
      } catch (e) {
        process.stderr.write(`Error: ${(e as Error).message}\n`);
        return 1;
      }
      process.stdout.write(`wrote a new cluster key to ${file} (mode 0600); copy the same file to every node\n`);
      return 0;
    }
    case 'cleanup': {
      need(p.words, 1, 'piha cleanup [--config FILE]');
      const config = loadConfigOrExit(configPath(p));
      const { VipManager } = await import('./vip/manager.ts');
      const { monotonicNow } = await import('./daemon/clock.ts');
      const vip = new VipManager({ ifname: config.cluster.interface, now: monotonicNow });
      for (const r of config.resources) await vip.release({ name: r.name, ip: r.ip, cidr: r.cidrNetmask });
      await vip.close();
      process.stdout.write(`removed ${config.resources.length} VIP address(es) from ${config.cluster.interface} if present\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see: piha help)`);
  }
}

export async function cli(argv: string[]): Promise<void> {
  try {
    const code = await main(argv);
    process.exitCode = code;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`Error: ${e.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`Error: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    }
  }
}

/** Under systemd (INVOCATION_ID is set for units) ask for a clean power-off. */
function powerOffIfService(): void {
  if (!process.env.INVOCATION_ID) return;
  try {
    execFileSync('systemctl', ['poweroff'], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    // Logged by systemd; nothing more a stopping daemon can do.
  }
}
