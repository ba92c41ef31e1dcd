// From the plain value of the YAML document to a PihaConfig: reads every section, runs the
// rules across sections, and returns the config only if nothing at all was wrong.

import { readCluster } from './cluster.ts';
import type { Issues } from './errors.ts';
import { readNodes } from './nodes.ts';
import { checkQuorum, readQuorum } from './quorum.ts';
import { describe, isMapping, Section } from './read.ts';
import { checkAgainstNodes, readDefaults, readResources } from './resources.ts';
import { TOP_KEYS } from './schema.ts';
import type { NodeConfig, PihaConfig, ResourceConfig } from './types.ts';
import { checkFencing, readFencing } from './fencing.ts';
import { readHardware } from './hardware.ts';
import { readHooks } from './hooks.ts';

export function validate(root: unknown, issues: Issues): PihaConfig | null {
  if (root === null || root === undefined) {
    issues.add('', 'the file is empty (it needs at least a cluster: section with name: and a nodes: list, see README)');
    return null;
  }
  if (!isMapping(root)) {
    issues.add('', `the top level must be a mapping with cluster:, nodes: and optionally quorum:, defaults:, resources:, fencing:, hardware:, hooks:, not ${describe(root)}`);
    return null;
  }
  const top = Section.open(issues, root, '', 'the file', TOP_KEYS)!;

  const cluster = readCluster(
    issues,
    top.raw('cluster', { required: true, example: 'a cluster: section with name: lbcluster' }),
  );
  const nodesRaw = top.has('nodes') && root.nodes === null ? [] : top.raw('nodes', { required: true, example: 'a nodes: list' });
  const nodes = readNodes(issues, nodesRaw);
  // Optional sections written with nothing under them (`resources:`) just mean "none".
  const quorumDraft = readQuorum(issues, top.nested('quorum'));
  const defaults = readDefaults(issues, top.nested('defaults'));
  const resources = readResources(issues, top.nested('resources'));
  const quorum = checkQuorum(issues, quorumDraft, nodes);
  checkAgainstNodes(issues, resources, nodes);
  const hardware = readHardware(issues, top.nested('hardware'));
  const hooks = readHooks(issues, top.nested('hooks'));
  const fencing = checkFencing(issues, readFencing(issues, top.nested('fencing')), hardware, nodes);

  if (issues.count > 0 || !cluster) return null;
  // No error was reported, so every draft field was read (required ones are present).
  return {
    cluster,
    nodes: nodes.map((n) => n as NodeConfig),
    quorum,
    defaults,
    resources: resources.map((r) => r as ResourceConfig),
    fencing,
    hardware,
    hooks,
  };
}
