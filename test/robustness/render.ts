// Renders docs/robustness.md from the rows the tests recorded (record.ts): the prose of
// test/robustness/template.md, one table per area in a fixed order, and a footer saying how,
// where and when the rows were produced. Used by scripts/robustness.mjs; tested by
// test/robustness/render.test.ts.

import { AREAS, type Area, type RobustnessRow } from './record.ts';

export interface AreaInfo {
  title: string;
  /** Needs the network-namespace lab (root); absent with --unit-only. */
  lab: boolean;
  /** What every row of the area has in common (markdown, one paragraph). */
  intro: string;
}

export const AREA_INFO: Record<Area, AreaInfo> = {
  'cluster-port': {
    title: 'Cluster port (UDP 5405)',
    lab: true,
    intro:
      'Real daemons in the namespace lab, attacked from the client namespace (192.0.2.2) unless a row says otherwise. ' +
      'Each scenario starts its own cluster and waits for one VIP holder; 1.5 s after the attack it checks that the holder ' +
      'and its one VIP interval are unchanged, that no two nodes ever held the VIP (`ip monitor address` in every node ' +
      'namespace), that every daemon is running, and reads the `piha_packets_rejected_total{reason}` counters from ' +
      '`/metrics` with curl. The last sentence of each row is that end-of-scenario check.',
  },
  'status-port': {
    title: 'Status port (HTTP 9405)',
    lab: true,
    intro:
      'Abuse of node1\'s status endpoint (`/status`, `/healthz`, `/metrics`) from the client namespace. Each scenario ' +
      'samples node1\'s RSS every 200 ms during the abuse and checks afterwards that node1 is the same process, ' +
      '`/healthz` answers, no cluster packet was rejected, the cluster is quorate and the VIP holder and its interval ' +
      'are unchanged (the last sentence of each row).',
  },
  'config-runtime': {
    title: 'Configuration at run time',
    lab: true,
    intro: 'A 3-node lab cluster whose configuration file is broken or changed while it runs, or differs between nodes.',
  },
  decoder: {
    title: 'Packet decoder and endpoint (property tests)',
    lab: false,
    intro:
      'fast-check generates valid messages (heartbeats, grants, releases, leaves) and headers, then damages the sealed ' +
      'packets; `decode()` (`src/transport/codec.ts`) and `Endpoint.open()` must reject every damaged packet without ' +
      'throwing. Counts are of this run; the reasons are the ones `decode()` returned.',
  },
  'config-fuzz': {
    title: 'Configuration parser under fuzzing',
    lab: false,
    intro:
      '`parseConfig(text)` must never throw, must return either a config or a non-empty list of well-formed errors, and ' +
      'a config it accepts must be sound (unique ids, names and addresses; quorum > half the votes). Property runs: ' +
      '`FUZZ_RUNS` (default 300, as in `make test`; `make fuzz` uses 20 000); the counts are in the rows.',
  },
  'config-errors': {
    title: 'Invalid configurations, one mistake at a time',
    lab: false,
    intro:
      'A valid configuration (3 nodes, one VIP) broken in one place; each row is one attempt and the error `parseConfig` ' +
      'returned: its path and its message, which the test checks for the hint that tells the user how to fix it. ' +
      'Except where a row shows two errors, it was the only error.',
  },
  cli: {
    title: 'Command line',
    lab: false,
    intro:
      'With no daemon (the control socket does not exist) and no configuration file. `main()` runs in a child process ' +
      'with `process.exit` and the output streams stubbed.',
  },
  state: {
    title: 'State on disk (interrupted writes)',
    lab: false,
    intro:
      'The node\'s durable state (`src/daemon/state-store.ts`, two slots written in turn): crashes injected at every fs call of a save, ' +
      'processes killed with SIGKILL while saving, slots torn or corrupted on disk as a power cut leaves them, and garbage files in the state directory.',
  },
};

export interface RenderMeta {
  /** ISO date of the run. */
  date: string;
  /** process.version of the run. */
  node: string;
  /** e.g. "2-core x86-64 (Intel …), Linux 6.1". */
  machine: string;
  /** The command that generated the file. */
  command: string;
  /** How long each part took, e.g. { 'unit tests': 12.3, 'lab tests': 95.1 } (seconds). */
  durations?: Record<string, number>;
  /** Set when the lab part was not run: why (the lab areas then say their rows are missing). */
  labMissing?: string;
}

export interface StoredRow extends RobustnessRow {
  file: string;
}

/** Parses the JSON lines of PIHA_ROBUSTNESS_OUT; throws on a malformed row (with its line number). */
export function parseRows(jsonl: string): StoredRow[] {
  const rows: StoredRow[] = [];
  jsonl.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let r: any;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1}: not JSON: ${(e as Error).message}`);
    }
    for (const k of ['area', 'input', 'observed', 'test', 'file']) {
      if (typeof r?.[k] !== 'string' || r[k] === '') throw new Error(`line ${i + 1}: missing ${k}: ${line.slice(0, 200)}`);
    }
    if (!(AREAS as readonly string[]).includes(r.area)) throw new Error(`line ${i + 1}: unknown area ${JSON.stringify(r.area)}`);
    rows.push({ area: r.area, input: r.input, observed: r.observed, test: r.test, file: r.file });
  });
  return rows;
}

/**
 * Markdown text made safe for one table cell: line breaks become `<br>` (inside a code span,
 * which cannot hold a tag, a visible `\n`), `|` is escaped everywhere (GFM splits cells
 * before it parses code spans), and `<` outside code spans is written `&lt;` so that input
 * text never turns into HTML. Code spans are otherwise left alone.
 */
export function escapeCell(text: string): string {
  const s = text.replace(/\r\n?/g, '\n').trim();
  let out = '';
  let i = 0;
  const plain = (t: string) => t.replace(/</g, '&lt;').replace(/\|/g, '\\|').replace(/\n/g, '<br>');
  while (i < s.length) {
    const open = /`+/.exec(s.slice(i));
    if (!open) {
      out += plain(s.slice(i));
      break;
    }
    const start = i + open.index;
    const fence = open[0];
    // the closing run: the next backtick run of exactly the same length
    const closeRe = new RegExp(`(?<!\`)${fence}(?!\`)`, 'g');
    closeRe.lastIndex = start + fence.length;
    const close = closeRe.exec(s);
    if (!close) {
      out += plain(s.slice(i, start + fence.length));
      i = start + fence.length;
      continue;
    }
    out += plain(s.slice(i, start));
    const inner = s.slice(start + fence.length, close.index).replace(/\|/g, '\\|').replace(/\n/g, '\\n');
    out += fence + inner + fence;
    i = close.index + fence.length;
  }
  return out;
}

/** Rows in document order: by area (AREAS order), then by file, then in the order recorded. */
export function orderRows<T extends StoredRow>(rows: T[]): T[] {
  const rank = (a: string) => (AREAS as readonly string[]).indexOf(a);
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => rank(a.r.area) - rank(b.r.area) || (a.r.file < b.r.file ? -1 : a.r.file > b.r.file ? 1 : 0) || a.i - b.i)
    .map((x) => x.r);
}

/** The test's name, and its file when the area's rows come from more than one file (else the heading names it). */
const testCell = (r: StoredRow, withFile: boolean): string => escapeCell(r.test) + (withFile ? ` (${code(r.file.replace(/^test\//, ''))})` : '');
const code = (s: string) => '`' + s.replace(/`/g, '') + '`';

/** The tables: one section per area that has rows (or is a lab area whose rows are missing). */
export function renderTables(rows: StoredRow[], meta: Pick<RenderMeta, 'labMissing'>): string {
  const ordered = orderRows(rows);
  const parts: string[] = [];
  for (const area of AREAS) {
    const info = AREA_INFO[area];
    const mine = ordered.filter((r) => r.area === area);
    if (mine.length === 0 && !(info.lab && meta.labMissing)) continue;
    const files = [...new Set(mine.map((r) => r.file))];
    parts.push(`## ${info.title}${files.length ? ` — ${files.map((f) => code(f)).join(', ')}` : ''}`, '', info.intro, '');
    if (mine.length === 0) {
      parts.push(`_Lab rows are missing: ${escapeCell(meta.labMissing!)}._`, '');
      continue;
    }
    parts.push('| input tried | observed behaviour | test |', '|---|---|---|');
    for (const r of mine) parts.push(`| ${escapeCell(r.input)} | ${escapeCell(r.observed)} | ${testCell(r, files.length > 1)} |`);
    parts.push('');
  }
  return parts.join('\n');
}

export function renderFooter(rows: StoredRow[], meta: RenderMeta): string {
  const counts = AREAS.map((a) => [a, rows.filter((r) => r.area === a).length] as const).filter(([, n]) => n > 0);
  const took = meta.durations ? Object.entries(meta.durations).map(([k, s]) => `${k} ${s.toFixed(0)} s`).join(', ') : '';
  return [
    '---',
    '',
    `Generated by ${code(meta.command)} on ${meta.date}: Node ${meta.node}, ${meta.machine}` + (took ? `; ${took}.` : '.'),
    `${rows.length} rows (${counts.map(([a, n]) => `${a} ${n}`).join(', ')}), each written by its test after the test's assertions passed.` +
      (meta.labMissing ? ` **Lab rows are missing** (${escapeCell(meta.labMissing)}).` : ''),
    'Do not edit this file by hand: change the tests or `test/robustness/template.md` and run `make robustness`.',
    '',
  ].join('\n');
}

/**
 * The whole document: `template` without its leading comment, `<!-- tables -->` replaced by
 * the tables and `<!-- footer -->` by the footer (appended when the template lacks the marker).
 */
export function renderRobustness(template: string, rows: StoredRow[], meta: RenderMeta): string {
  if (!template.includes('<!-- tables -->')) throw new Error('template has no <!-- tables --> marker');
  // a comment at the very top is about the template itself
  let doc = template.replace(/^<!--(?! (?:tables|footer) -->)[\s\S]*?-->\s*/, '').replace('<!-- tables -->', () => renderTables(rows, meta).trimEnd());
  const footer = renderFooter(rows, meta);
  doc = doc.includes('<!-- footer -->') ? doc.replace('<!-- footer -->', () => footer.trimEnd()) : `${doc.trimEnd()}\n\n${footer}`;
  return doc.replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}
