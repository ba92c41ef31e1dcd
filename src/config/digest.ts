// A short digest of the cluster-wide part of a configuration. Every node gossips it, so a
// node started with a different piha.yaml is reported on every node's status. Node-local
// settings (paths, the status bind address, the node's own hardware: GPIO backend, LED and
// button pins, the watchdog device node, the notify hooks: of hooks.ts) are left out: they
// may differ legitimately. The fencing rules are in: a peer's watchdog timeout sets how
// long the others wait for it.
import { createHash } from 'node:crypto';
import type { PihaConfig } from './types.ts';

export function configDigest(c: PihaConfig): string {
  const { stateDir: _s, socket: _k, statusBind: _b, authkey: _a, ...cluster } = c.cluster;
  const { device: _d, ...watchdog } = c.fencing.watchdog;
  const fencing = { ...c.fencing, watchdog };
  const body = JSON.stringify({ cluster, nodes: c.nodes, quorum: c.quorum, defaults: c.defaults, resources: c.resources, fencing });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
