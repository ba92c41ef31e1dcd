// A short digest of the cluster-wide part of a configuration. Every node gossips it, so a
// node started with a different piha.yaml is reported on every node's status. Node-local
// settings (paths, the status bind address) are left out: they may differ legitimately.
import { createHash } from 'node:crypto';
import type { PihaConfig } from './types.ts';

export function configDigest(c: PihaConfig): string {
  const { stateDir: _s, socket: _k, statusBind: _b, authkey: _a, ...cluster } = c.cluster;
  const body = JSON.stringify({ cluster, nodes: c.nodes, quorum: c.quorum, defaults: c.defaults, resources: c.resources });
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
