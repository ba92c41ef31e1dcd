// make bench-compare: piha and keepalived side by side on the same namespace lab, with the
// same client, the same service and the same faults.
//
//   lab      3 nodes on one bridge (test/lab/lab.ts), VIP 192.0.2.150/32
//   service  test/lab/namesrv.mjs on port 8080 in every node namespace, answering its node
//            name: the thing the VIP fronts, independent of the HA daemon (as the Kubernetes
//            API would be), so a frozen or killed daemon does not stop answers by itself
//   client   its own namespace, a new HTTP connection to 192.0.2.150:8080 every 5 ms
//   holders  `ip monitor address` in every node namespace, one monotonic clock
//
// Implementations (IMPLS):
//   piha-lan        piha, default profile (heartbeat 200 ms, lease 1350 ms)
//   piha-fast       piha, profile fast (heartbeat 25 ms, lease 200 ms)
//   keepalived-1s   keepalived (Debian package), VRRPv3 unicast between the nodes,
//                   advert_int 1 s (its default), nopreempt, priorities 150/149/148
//   keepalived-0.1s the same with advert_int 0.1 s (tuned)
//
// Scenarios (SCENARIOS), each run on a fresh cluster per implementation:
//   cut        power cut of the holder: its link goes down, every process of the daemon is
//              SIGKILLed and its addresses vanish (a powered-off machine holds none); the
//              node comes back (link up, daemon started) 2 s after the takeover
//   stop       clean stop: SIGTERM to the daemon; restarted after the takeover
//   kill       daemon crash: SIGKILL of the daemon's main process(es) — piha: the daemon
//              (its address guard is a separate process and survives, by design); keepalived:
//              its parent and VRRP child (both); restarted 3 s after the takeover (as systemd's
//              Restart= would)
//   freeze     daemon frozen (SIGSTOP) for FREEZE_S (5 s: longer than piha's lease and than
//              keepalived's 3.6 s master-down interval) — piha: the daemon process (the
//              guard runs on); keepalived: parent and VRRP child; then SIGCONT
//   partition  peer-only partition of the holder for 10 s: it cannot reach the other nodes,
//              the client still reaches everyone
//   loss       20 % random loss of node-to-node packets (each node's input, numgen) for
//              LOSS_S (60 s); client traffic is not dropped
// Each trial waits for one holder, a settle time, then a random part (seeded per
// implementation and scenario) of the holder's renewal or advert period: 200 ms / 25 ms for
// piha, 1 s / 0.1 s for keepalived, so the fault's phase against those rounds is uniform.
// Per scenario: takeover (fault -> first client answer from another node), two holders
// (ms during which ip monitor saw the VIP on two nodes), VIP moves beyond the one the
// scenario calls for ("false failovers"), client answers by node and failed probes.
//
// Env: IMPLS, SCENARIOS (comma lists), MERGE=1 (re-run those only, keep the rest of compare.json;
// the tables are made from the merged rows), RENDER=1 (no run: compare.md and takeover.svg from
// compare.json), TRIALS (cut/stop/kill, default 20), FREEZE_TRIALS (10),
// PARTITION_TRIALS (5), TUNED_TRIALS (10), TUNED_FREEZE_TRIALS (5), TUNED_PARTITION_TRIALS (3), FREEZE_S (5), PARTITION_S (10), LOSS_S (60), LOSS_PCT (20).
// Writes bench/compare.json, bench/compare.md (docs/benchmarks.md) and bench/takeover.svg.

import { writeFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabCluster, VIP } from '../test/lab/cluster.ts';
import { Lab, now, sleep, type AddressWatcher, type LabProcess, type Prober } from '../test/lab/lab.ts';
import { LoadRecord, binName, fmtMs, haveKeepalived, iso, machine, pct, procTree, seededRandom, startPiha, stats, who } from './lib.ts';
import { writeFragment } from './fragments.ts';
import { takeoverSvg, type SvgSeries } from './svg.ts';

const SERVICE_PORT = 8080;
const TRIALS = Number(process.env.TRIALS ?? 20);
const FREEZE_TRIALS = Number(process.env.FREEZE_TRIALS ?? 10);
const PARTITION_TRIALS = Number(process.env.PARTITION_TRIALS ?? 5);
// The tuned pair (piha-fast, keepalived-0.1s) gets fewer trials, to keep the run near 25 min.
const TUNED_TRIALS = Number(process.env.TUNED_TRIALS ?? 10);
const TUNED_FREEZE_TRIALS = Number(process.env.TUNED_FREEZE_TRIALS ?? 5);
const TUNED_PARTITION_TRIALS = Number(process.env.TUNED_PARTITION_TRIALS ?? 3);
const FREEZE_S = Number(process.env.FREEZE_S ?? 5);
const PARTITION_S = Number(process.env.PARTITION_S ?? 10);
const LOSS_S = Number(process.env.LOSS_S ?? 60);
const LOSS_PCT = Number(process.env.LOSS_PCT ?? 20);
const ALL_IMPLS = ['piha-lan', 'keepalived-1s', 'piha-fast', 'keepalived-0.1s'] as const;
const ALL_SCENARIOS = ['cut', 'stop', 'kill', 'freeze', 'partition', 'loss'] as const;
type ImplName = (typeof ALL_IMPLS)[number];
type ScenarioName = (typeof ALL_SCENARIOS)[number];
const IMPLS = (process.env.IMPLS?.split(',') ?? ALL_IMPLS) as ImplName[];
const SCENARIOS = (process.env.SCENARIOS?.split(',') ?? ALL_SCENARIOS) as ScenarioName[];

const SCENARIO_TEXT: Record<ScenarioName, string> = {
  cut: 'power cut of the holder',
  stop: 'clean stop (SIGTERM)',
  kill: 'daemon crash (SIGKILL)',
  freeze: `daemon frozen ${FREEZE_S} s (SIGSTOP)`,
  partition: `peer-only partition of the holder, ${PARTITION_S} s`,
  loss: `${LOSS_PCT} % loss between nodes, ${LOSS_S} s`,
};

// ------------------------------------------------------------------ clusters

/** One HA implementation running on a 3-node lab. */
interface HaCluster {
  readonly impl: ImplName;
  readonly lab: Lab;
  readonly w: AddressWatcher;
  /** Settle time after a recovery before the next trial. */
  readonly steadyMs: number;
  /** The period of the holder's renewals or adverts: the fault comes at a random phase of it. */
  readonly roundMs: number;
  /** Start the daemon on a node and wait until it runs. */
  start(node: string): Promise<void>;
  proc(node: string): LabProcess | undefined;
  /** Pids that make up "the daemon" for a crash or a freeze (see the header). */
  corePids(node: string): number[];
  /** Every process of the daemon (power cut). */
  allPids(node: string): number[];
  version: string;
  destroy(): Promise<void>;
}

async function pihaCluster(impl: 'piha-lan' | 'piha-fast'): Promise<HaCluster> {
  const c = await LabCluster.create({ profile: impl === 'piha-lan' ? 'lan' : 'fast' });
  const w = c.lab.watchAddress(VIP);
  await w.ready;
  for (const n of c.lab.nodes) await c.lab.startNameServer(n.ns, SERVICE_PORT, n.name);
  const cl: HaCluster = {
    impl,
    lab: c.lab,
    w,
    steadyMs: impl === 'piha-lan' ? 2000 : 1000,
    roundMs: impl === 'piha-lan' ? 200 : 25,
    async start(node) {
      const p = startPiha(c, node);
      await p.waitForLine(/"event":"daemon_started"/, 15000);
    },
    proc: (node) => c.daemons.get(node),
    corePids: (node) => [c.daemons.get(node)!.pid],
    allPids: (node) => procTree(c.daemons.get(node)!.pid),
    version: `piha (${binName()})`,
    async destroy() {
      await w.stop();
      await c.destroy();
    },
  };
  for (const n of c.lab.nodes) await cl.start(n.name);
  return cl;
}

async function keepalivedCluster(impl: 'keepalived-1s' | 'keepalived-0.1s'): Promise<HaCluster> {
  const bin = haveKeepalived();
  if (!bin) throw new Error('keepalived is not installed: make bench-deps (apt-get install keepalived)');
  const advert = impl === 'keepalived-1s' ? '1' : '0.1';
  const lab = await Lab.create({ nodes: 3, vip: VIP });
  const dir = mkdtempSync(join(tmpdir(), 'piha-ka-'));
  const w = lab.watchAddress(VIP);
  await w.ready;
  for (const n of lab.nodes) await lab.startNameServer(n.ns, SERVICE_PORT, n.name);
  const procs = new Map<string, LabProcess>();
  lab.nodes.forEach((n, i) => {
    const peers = lab.nodes.filter((m) => m !== n).map((m) => `    ${m.addr}`);
    writeFileSync(
      join(dir, `${n.name}.conf`),
      [
        'global_defs {',
        `  router_id ${n.name}`,
        '  vrrp_version 3', // sub-second advert_int needs VRRPv3
        '  vrrp_garp_master_delay 1',
        '}',
        'vrrp_instance VI_1 {',
        '  state BACKUP',
        '  interface eth0',
        '  virtual_router_id 51',
        `  priority ${150 - i}`,
        `  advert_int ${advert}`,
        '  nopreempt', // a node coming back does not take the VIP back (like piha's stickiness)
        `  unicast_src_ip ${n.addr}`,
        '  unicast_peer {',
        ...peers,
        '  }',
        '  virtual_ipaddress {',
        `    ${VIP}/32 dev eth0`,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });
  const version = (await lab.exec(lab.nodes[0]!.ns, [bin, '--version'])).stderr.split('\n')[0]?.trim() ?? 'keepalived';
  const cl: HaCluster = {
    impl,
    lab,
    w,
    steadyMs: impl === 'keepalived-1s' ? 3000 : 1000,
    roundMs: impl === 'keepalived-1s' ? 1000 : 100,
    async start(node) {
      const n = lab.node(node);
      // -n foreground, -l -D log details to the console, -G no syslog, -P VRRP only; own pid files.
      const p = lab.spawn(n.ns, [bin, '-n', '-l', '-D', '-G', '-P', '-f', join(dir, `${node}.conf`), '-p', join(dir, `${node}.pid`), '-r', join(dir, `${node}-vrrp.pid`)], {
        name: `keepalived@${node}`,
        logFile: join(dir, `${node}.log`),
      });
      procs.set(node, p);
      await p.waitForLine(/Entering (BACKUP|MASTER) STATE/, 15000);
    },
    proc: (node) => procs.get(node),
    corePids: (node) => procTree(procs.get(node)!.pid),
    allPids: (node) => procTree(procs.get(node)!.pid),
    version,
    async destroy() {
      await w.stop();
      await lab.destroy();
      if (!process.env.PIHA_LAB_KEEP) rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const n of lab.nodes) await cl.start(n.name);
  return cl;
}

const makeCluster = (impl: ImplName): Promise<HaCluster> =>
  impl === 'piha-lan' || impl === 'piha-fast' ? pihaCluster(impl) : keepalivedCluster(impl);

// ------------------------------------------------------------------ scenarios

export interface ScenarioResult {
  impl: ImplName;
  scenario: ScenarioName;
  trials: number;
  takeoverMs: number[];
  /** Trials in which no other node answered within the wait. */
  noTakeover: number;
  twoHoldersMs: number;
  /** Two-holder episodes (segments). */
  twoHolderEpisodes: number;
  /** VIP acquisitions beyond the one each trial calls for (0 for loss). */
  extraMoves: number;
  moves: number;
  /** The VIP dropped and put back on the same node (not a failover). */
  reAdds: number;
  okByNode: Record<string, number>;
  failedProbes: number;
  loadStart: string;
  loadEnd: string;
  seconds: number;
  notes: string[];
}

const SIG = (pids: number[], sig: NodeJS.Signals) => {
  for (const p of pids) {
    try {
      process.kill(p, sig);
    } catch {
      /* gone */
    }
  }
};

async function singleHolder(cl: HaCluster, timeoutMs = 30000): Promise<string> {
  const t0 = now();
  for (;;) {
    const h = cl.w.holders();
    if (h.length === 1) return h[0]!;
    if (now() - t0 > timeoutMs) throw new Error(`${cl.impl}: no single VIP holder within ${timeoutMs} ms (holders: ${h.join(',') || 'none'})`);
    await sleep(20);
  }
}

/** Probe answers from someone else than `old`, started after t0; null after waitMs. */
async function firstOther(p: Prober, t0: number, old: string, waitMs: number): Promise<number | null> {
  try {
    const s = await p.waitFor((x) => x.ok && x.t > t0 && who(x.body) !== old && who(x.body) !== '', waitMs);
    // waitFor resolves on the first to *finish*; take the earliest *started* one.
    const first = p.firstOkAfter(t0, (x) => who(x.body) !== old && who(x.body) !== '') ?? s;
    return first.t - t0;
  } catch {
    return null;
  }
}

async function runScenario(cl: HaCluster, scenario: ScenarioName): Promise<ScenarioResult> {
  const load = new LoadRecord();
  const { lab, w } = cl;
  const r: ScenarioResult = {
    impl: cl.impl,
    scenario,
    trials: 0,
    takeoverMs: [],
    noTakeover: 0,
    twoHoldersMs: 0,
    twoHolderEpisodes: 0,
    extraMoves: 0,
    moves: 0,
    reAdds: 0,
    okByNode: {},
    failedProbes: 0,
    loadStart: load.start,
    loadEnd: '',
    seconds: 0,
    notes: [],
  };
  const p = lab.probe({ ip: VIP, port: SERVICE_PORT, path: '/', everyMs: 5, timeoutMs: 100, maxDurationMs: 3_600_000 });
  const tuned = cl.impl === 'piha-fast' || cl.impl === 'keepalived-0.1s';
  const trials =
    scenario === 'loss' ? 1 : scenario === 'freeze' ? (tuned ? TUNED_FREEZE_TRIALS : FREEZE_TRIALS) : scenario === 'partition' ? (tuned ? TUNED_PARTITION_TRIALS : PARTITION_TRIALS) : tuned ? TUNED_TRIALS : TRIALS;
  const waitMs = 20_000;
  const phase = seededRandom(`${cl.impl}/${scenario}`);
  await p.waitFor((s) => s.ok, 15000);
  const T0 = now();
  let expectedMoves = 0;
  try {
    for (let i = 0; i < trials; i++) {
      const h = await singleHolder(cl);
      // Then a random part of one renewal/advert period, so the fault's phase against the
      // holder's rounds is uniform. Without it the phase was nearly fixed: the rounds start at
      // the previous takeover and the fault came a fixed time after it.
      await sleep(cl.steadyMs + phase() * cl.roundMs);
      if (w.holders().join() !== h) {
        i--;
        continue; // moved while settling: start over
      }
      const t0 = now();
      let takeover: number | null = null;
      switch (scenario) {
        case 'cut': {
          const pids = cl.allPids(h);
          await lab.linkDown(h);
          SIG(pids, 'SIGKILL');
          // the machine is off: its addresses are gone with it
          await lab.exec(h, ['ip', 'addr', 'del', `${VIP}/32`, 'dev', 'eth0']);
          takeover = await firstOther(p, t0, h, waitMs);
          await cl.proc(h)?.wait(5000);
          await sleep(2000);
          await lab.linkUp(h);
          await cl.start(h);
          expectedMoves++;
          break;
        }
        case 'stop': {
          cl.proc(h)!.signal('SIGTERM');
          takeover = await firstOther(p, t0, h, waitMs);
          await cl.proc(h)!.wait(10000);
          await sleep(1000);
          await cl.start(h);
          expectedMoves++;
          break;
        }
        case 'kill': {
          SIG(cl.corePids(h), 'SIGKILL');
          takeover = await firstOther(p, t0, h, waitMs);
          await cl.proc(h)!.wait(5000);
          await sleep(3000);
          await cl.start(h);
          expectedMoves++;
          break;
        }
        case 'freeze': {
          const pids = cl.corePids(h);
          SIG(pids, 'SIGSTOP');
          takeover = await firstOther(p, t0, h, FREEZE_S * 1000);
          await sleep(Math.max(0, t0 + FREEZE_S * 1000 - now()));
          SIG(pids, 'SIGCONT');
          if (takeover === null) takeover = await firstOther(p, t0, h, waitMs);
          expectedMoves++;
          break;
        }
        case 'partition': {
          const f = await lab.isolatePeers(h);
          takeover = await firstOther(p, t0, h, PARTITION_S * 1000);
          await sleep(Math.max(0, t0 + PARTITION_S * 1000 - now()));
          await f.undo();
          if (takeover === null) takeover = await firstOther(p, t0, h, waitMs);
          expectedMoves++;
          break;
        }
        case 'loss': {
          for (const n of lab.nodes) {
            // like Lab.loss(n, p, 'in'), but only for packets from other nodes (not the client)
            const permille = Math.round(LOSS_PCT * 10);
            await lab.execOk(n.ns, ['nft', '-f', '-'], {
              input: [
                'add table inet pihalab',
                'add chain inet pihalab peerloss { type filter hook input priority -5; policy accept; }',
                `add rule inet pihalab peerloss iifname "eth0" ip saddr != ${lab.client.addr} numgen random mod 1000 < ${permille} drop`,
                '',
              ].join('\n'),
            });
          }
          await sleep(LOSS_S * 1000);
          await lab.heal();
          takeover = null;
          break;
        }
      }
      r.trials++;
      if (scenario !== 'loss') {
        if (takeover === null) r.noTakeover++;
        else r.takeoverMs.push(takeover);
      }
      process.stdout.write(`${cl.impl} ${scenario} #${i + 1}: ${h}${takeover !== null ? ` -> other in ${takeover.toFixed(0)} ms` : scenario === 'loss' ? '' : ' -> no other node answered'}; holders now ${w.holders().join(',') || 'none'}\n`);
    }
    await singleHolder(cl).catch(() => '');
    await sleep(1000);
  } finally {
    const T1 = now();
    await p.stop();
    r.seconds = (T1 - T0) / 1000;
    const segs = w.overlaps(T0, T1);
    r.twoHoldersMs = segs.reduce((a, s) => a + (s.end - s.start), 0);
    r.twoHolderEpisodes = segs.length;
    // VIP acquisitions in order; a move is one by another node than the previous holder,
    // a re-add one by the same node (the address was dropped and put back on it)
    const starts = Object.entries(w.intervals())
      .flatMap(([n, ivs]) => ivs.map(([st]) => [st, n] as const))
      .sort((a, b) => a[0] - b[0]);
    let last = '';
    for (const [st, n] of starts) {
      if (st > T0 && st <= T1) {
        if (n !== last) r.moves++;
        else {
          r.reAdds++;
          r.notes.push(`re-add on ${n} at +${((st - T0) / 1000).toFixed(1)} s`);
        }
      }
      last = n;
    }
    r.extraMoves = Math.max(0, r.moves - expectedMoves);
    for (const s of p.between(T0, T1)) {
      if (!s.ok) {
        r.failedProbes++;
        continue;
      }
      const n = who(s.body) || '?';
      r.okByNode[n] = (r.okByNode[n] ?? 0) + 1;
    }
    r.loadEnd = load.finish().end;
  }
  return r;
}

// ------------------------------------------------------------------ report

const implText: Record<ImplName, string> = {
  'piha-lan': 'piha, profile lan',
  'piha-fast': 'piha, profile fast',
  'keepalived-1s': 'keepalived, advert_int 1 s',
  'keepalived-0.1s': 'keepalived, advert_int 0.1 s',
};

function table(results: ScenarioResult[]): string {
  const rows = results.map((r) => {
    const s = stats(r.takeoverMs);
    const applies = r.scenario !== 'loss';
    const by = Object.entries(r.okByNode)
      .sort()
      .map(([n, c]) => `${n} ${c}`)
      .join(', ');
    return `| ${SCENARIO_TEXT[r.scenario]} | ${implText[r.impl]} | ${r.trials} | ${applies ? fmtMs(s.median) : '–'} | ${applies ? fmtMs(s.p99) : '–'} | ${applies ? `${fmtMs(s.min)}–${fmtMs(s.max)}` : '–'}${r.noTakeover ? ` (${r.noTakeover} none)` : ''} | ${Math.round(r.twoHoldersMs)}${r.twoHolderEpisodes ? ` (${r.twoHolderEpisodes}×)` : ''} | ${r.extraMoves}${r.reAdds ? ` (+${r.reAdds} re-add)` : ''} | ${by}; failed ${r.failedProbes} | ${r.loadStart.split(' ')[0]}→${r.loadEnd.split(' ')[0]} |`;
  });
  return `| scenario | implementation | trials | takeover median ms | p99 ms | range ms | two holders ms (episodes) | false failovers | client answers by node; failed probes | load 1 min |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}

function ratios(results: ScenarioResult[]): string {
  const get = (impl: ImplName, sc: ScenarioName) => results.find((r) => r.impl === impl && r.scenario === sc);
  const lines: string[] = [];
  for (const [a, b] of [
    ['piha-lan', 'keepalived-1s'],
    ['piha-fast', 'keepalived-0.1s'],
    ['piha-lan', 'keepalived-0.1s'],
  ] as Array<[ImplName, ImplName]>) {
    const cells: string[] = [];
    // Every scenario in the results, not only the ones this run measured: a MERGE=1 re-run
    // keeps the full table.
    for (const sc of ALL_SCENARIOS) {
      const x = get(a, sc);
      const y = get(b, sc);
      if (!x || !y) continue;
      const mx = pct(x.takeoverMs, 50);
      const my = pct(y.takeoverMs, 50);
      const take = sc === 'loss' || !Number.isFinite(mx) || !Number.isFinite(my) ? '–' : (mx / my).toFixed(2);
      cells.push(`| ${SCENARIO_TEXT[sc]} | ${implText[a]} / ${implText[b]} | ${take} | ${Math.round(x.twoHoldersMs)} / ${Math.round(y.twoHoldersMs)} ms | ${x.extraMoves} / ${y.extraMoves} |`);
    }
    if (cells.length) lines.push(...cells);
  }
  return lines.length
    ? `| scenario | piha / keepalived | takeover median ratio | two holders | false failovers |
|---|---|---|---|---|
${lines.join('\n')}`
    : '';
}

/** One invocation of the bench: all of IMPLS x SCENARIOS, or a MERGE=1 re-run of some. */
interface CompareRun {
  /** When it finished. */
  date: string;
  minutes: number;
  load: { start: string; end: string };
  impls: ImplName[];
  scenarios: ScenarioName[];
}

interface CompareData {
  date: string;
  machine: string;
  versions: Record<string, string>;
  load: { start: string; end: string };
  minutes: number;
  /** Each run that contributed rows (absent in files from before re-runs were recorded). */
  runs?: CompareRun[];
  results: ScenarioResult[];
}

const runText = (r: CompareRun): string => {
  const all = ALL_IMPLS.every((i) => r.impls.includes(i)) && ALL_SCENARIOS.every((s) => r.scenarios.includes(s));
  return `${all ? 'Full run' : `Re-run of ${r.impls.join(', ')} × ${r.scenarios.join(', ')} (MERGE=1)`} at ${r.date}, ${r.minutes.toFixed(0)} min, load average (1/5/15 min) at start ${r.load.start}, at end ${r.load.end}`;
};

/** bench/takeover.svg and the markdown fragment, from the data alone (RENDER=1 needs no lab). */
function render(d: CompareData): string {
  const results = d.results;
  const series: SvgSeries[] = results
    .filter((r) => r.takeoverMs.length)
    .map((r) => ({ group: SCENARIO_TEXT[r.scenario], label: implText[r.impl], kind: r.impl.startsWith('piha') ? 'piha' : 'keepalived', values: r.takeoverMs, twoHoldersMs: r.twoHoldersMs }));
  writeFileSync('bench/takeover.svg', takeoverSvg(series, `Takeover time, client view (${d.machine.split(',')[0]}, namespace lab, ${d.date.slice(0, 10)})`));
  const runs = d.runs ?? [{ date: d.date, minutes: d.minutes, load: d.load, impls: [...ALL_IMPLS], scenarios: [...ALL_SCENARIOS] }];
  return `## piha and keepalived side by side (${d.date})

\`make bench-compare\` (bench/compare.ts), ${d.minutes.toFixed(0)} min in all. ${d.machine}. ${runs.map(runText).join('; ')}.
${Object.entries(d.versions)
  .map(([k, v]) => `${k}: ${v}`)
  .join('; ')}.

Same lab for both: 3 nodes in network namespaces on one bridge; a tiny HTTP server on port
${SERVICE_PORT} in every node namespace answers with its node name (the service behind the VIP,
independent of the HA daemon); a client in its own namespace opens a new connection to
\`${VIP}:${SERVICE_PORT}\` every 5 ms (100 ms timeout). Takeover = fault → first answer from another
node. Two holders = time during which \`ip monitor address\` saw the VIP on two nodes at once.
False failovers = VIP moves beyond the one the scenario calls for. keepalived: VRRPv3 unicast
between the three node addresses, \`nopreempt\`, priorities 150/149/148, \`vrrp_garp_master_delay 1\`.
Trials: the table's column (by default 20 for cut/stop/kill, 10 freezes, 5 partitions for piha lan
and keepalived 1 s; 10, 5 and 3 for piha fast and keepalived 0.1 s; one loss run each), to keep
a full run near 25 min; rerun with TRIALS=20 FREEZE_TRIALS=20 … for more. Each row's load column
is the 1-minute load average when it started and ended (other work shared the machine when it is
above ~0.5).
What is killed or frozen: power cut = every process of the daemon + link down + its addresses
gone; crash = piha's daemon process (its address guard survives: that is what it is for),
keepalived's parent and VRRP child; freeze = piha's daemon process, keepalived's parent and
VRRP child.

${table(results)}

Ratios (takeover median, two holders, false failovers):

${ratios(results)}

![takeover distributions](../bench/takeover.svg)

${POWER_CUT_NOTE}
`;
}

// What changed piha's lan takeovers in session 7, and how to read their spread.
const POWER_CUT_NOTE = `**Reading piha's lan takeovers.** After a power cut the holder's lease has to run out first.
The holder is usually also the coordinator (in the simulator: in all 160 of 160 power cuts), so
the next node must also win the coordinator lease before it may place the VIP. Its request is
denied until the promises made to the dead node run out, and the denial says when; it retries
at that moment. Until session 7 it did not count its own vote's denial, and the next try came a
heartbeat later (simulator, 160 power cuts: median 1395 → 1301 ms, p90 1554 → 1421 ms).

**The fault's phase (session 8).** A fault just after a renewal waits for nearly the whole
promise; one just before it, up to a period less. Until session 8 each trial's fault came a
fixed time after the previous takeover, and the new holder's rounds (piha) or adverts
(keepalived) start at that takeover, so the phase was nearly fixed. It showed: piha's lan power
cuts fell in two groups with nothing between 1268 and 1373 ms (median 1249 ms), and all 20 of
keepalived 1 s's fell within 3285–3412 ms (median 3389 ms), near its worst phase. Each trial now
waits a seeded random part of one period first (200 ms / 25 ms for piha, 1 s / 0.1 s for
keepalived). This run's lan power cuts spread evenly over 1203–1369 ms (median 1293 ms),
keepalived 1 s's over 2532–3405 ms (median 2821 ms): the ratio moved from 0.37 to 0.46.`;

if (import.meta.url === `file://${process.argv[1]}` && process.env.RENDER === '1') {
  // RENDER=1: regenerate bench/compare.md, bench/takeover.svg and docs/benchmarks.md from
  // bench/compare.json without running anything.
  const md = render(JSON.parse(readFileSync('bench/compare.json', 'utf8')) as CompareData);
  writeFragment('compare', md);
  console.log(md);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const load = new LoadRecord();
  const results: ScenarioResult[] = [];
  const versions: Record<string, string> = {};
  // MERGE=1: re-run only IMPLS x SCENARIOS (e.g. a disturbed measurement) and keep the rest of
  // bench/compare.json.
  const previous = process.env.MERGE === '1' ? (JSON.parse(readFileSync('bench/compare.json', 'utf8')) as CompareData) : null;
  if (previous) Object.assign(versions, previous.versions);
  const started = now();
  for (const impl of IMPLS) {
    for (const sc of SCENARIOS) {
      const cl = await makeCluster(impl);
      versions[impl] = cl.version;
      try {
        const r = await runScenario(cl, sc);
        results.push(r);
        console.log(JSON.stringify({ ...r, takeover: stats(r.takeoverMs) }));
      } finally {
        await cl.destroy();
      }
    }
  }
  load.finish();
  let minutes = (now() - started) / 60000;
  const run: CompareRun = { date: iso(), minutes, load: { start: load.start, end: load.end }, impls: IMPLS, scenarios: SCENARIOS };
  let runs = [run];
  if (previous) {
    const fresh = results.splice(0);
    for (const impl of ALL_IMPLS)
      for (const sc of ALL_SCENARIOS) {
        const r = fresh.find((x) => x.impl === impl && x.scenario === sc) ?? previous.results.find((x) => x.impl === impl && x.scenario === sc);
        if (r) results.push({ ...r, reAdds: r.reAdds ?? 0 });
      }
    minutes += previous.minutes;
    runs = [...(previous.runs ?? [{ date: previous.date, minutes: previous.minutes, load: previous.load, impls: [...ALL_IMPLS], scenarios: [...ALL_SCENARIOS] }]), run];
  }
  const data: CompareData = { date: iso(), machine: machine(), versions, load: { start: load.start, end: load.end }, minutes, runs, results };
  writeFileSync('bench/compare.json', JSON.stringify(data, null, 2) + '\n');
  const md = render(data);
  writeFragment('compare', md);
  console.log(md);
}
