// The renderer of docs/robustness.md (render.ts) and the recorder (record.ts).
// Run: node --import tsx --test test/robustness/render.test.ts (scripts/robustness.mjs runs it first).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { code, describeChange, range, recordRobustness, tally } from './record.ts';
import { escapeCell, orderRows, parseRows, renderRobustness, renderTables, type RenderMeta, type StoredRow } from './render.ts';

const row = (area: StoredRow['area'], input: string, observed = 'held', file = 'test/unit/x.test.ts', test = 't'): StoredRow => ({ area, input, observed, test, file });
const jsonl = (rows: StoredRow[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const META: RenderMeta = { date: '2026-11-26', node: 'v20.20.2', machine: '2-core x86-64', command: 'make robustness' };
const TEMPLATE = '<!-- about the template -->\n# Title\n\nIntro.\n\n<!-- tables -->\n\n## Tail\n\n<!-- footer -->\n';

/** The body rows of the markdown table under the heading that starts with `title`. */
function tableRows(md: string, title: string): string[] {
  const at = md.indexOf(`## ${title}`);
  assert.ok(at >= 0, `no section ${title}`);
  const next = md.indexOf('\n## ', at + 1);
  const section = md.slice(at, next < 0 ? undefined : next);
  return section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| input tried'));
}

/** Splits a table row into cells the way GFM does: on `|` not preceded by a backslash. */
const cells = (line: string): string[] => line.slice(2, -2).split(/(?<!\\)\|/).map((c) => c.trim());

describe('robustness renderer', () => {
  it('groups rows by area in the fixed area order, and keeps each file\'s recorded order', () => {
    const rows = parseRows(
      jsonl([
        row('state', 's1', 'o', 'test/unit/state-store.test.ts'),
        row('cluster-port', 'c2', 'o', 'test/lab/adversary.test.ts'),
        row('decoder', 'd1'),
        row('state', 's2', 'o', 'test/unit/state-store.test.ts'),
        row('config-errors', 'e1', 'o', 'test/unit/config-validate.test.ts'),
        row('cluster-port', 'c3', 'o', 'test/lab/adversary.test.ts'),
        row('config-fuzz', 'f1', 'o', 'test/unit/fuzz-config.test.ts'),
        row('cli', 'x-b', 'o', 'test/unit/b.test.ts'),
        row('cli', 'x-a', 'o', 'test/unit/a.test.ts'),
      ]),
    );
    assert.deepEqual(orderRows(rows).map((r) => r.input), ['c2', 'c3', 'd1', 'f1', 'e1', 'x-a', 'x-b', 's1', 's2']);
    const md = renderRobustness(TEMPLATE, rows, META);
    const headings = md.split('\n').filter((l) => l.startsWith('## ')).map((l) => l.replace(/ — .*/, ''));
    assert.deepEqual(headings, [
      '## Cluster port (UDP 5405)',
      '## Packet decoder and endpoint (property tests)',
      '## Configuration parser under fuzzing',
      '## Invalid configurations, one mistake at a time',
      '## Command line',
      '## State on disk (interrupted writes)',
      '## Tail',
    ]);
    assert.deepEqual(tableRows(md, 'State on disk').map((l) => cells(l)[0]), ['s1', 's2']);
    assert.ok(md.includes('## Cluster port (UDP 5405) — `test/lab/adversary.test.ts`'));
    // the test column names the file only where an area has rows of several files
    assert.deepEqual(tableRows(md, 'Command line').map((l) => cells(l)[2]), ['t (`unit/a.test.ts`)', 't (`unit/b.test.ts`)']);
    assert.deepEqual(tableRows(md, 'State on disk').map((l) => cells(l)[2]), ['t', 't']);
    assert.ok(md.includes('## Command line — `test/unit/a.test.ts`, `test/unit/b.test.ts`'));
    // files recorded in another order (each file's rows still in its own order): the same document
    const files = [...new Set(rows.map((r) => r.file))].reverse();
    const regrouped = files.flatMap((f) => rows.filter((r) => r.file === f));
    assert.notDeepEqual(regrouped, rows);
    assert.equal(renderRobustness(TEMPLATE, regrouped, META), md);
  });

  it('escapes pipes and line breaks so that every row has exactly three cells', () => {
    const rows = [
      row('decoder', 'a | b', 'line 1\nline 2\r\nline 3', 'test/unit/x.test.ts', 'name | with pipe'),
      row('decoder', code('x | y\nz'), '`p|q` and r|s'),
      row('decoder', '<script>alert(1)</script> & `<b>`', 'ok'),
    ];
    const lines = tableRows(renderTables(rows, {}), 'Packet decoder');
    assert.equal(lines.length, 3);
    for (const l of lines) assert.equal(cells(l).length, 3, l);
    assert.deepEqual(cells(lines[0]!), ['a \\| b', 'line 1<br>line 2<br>line 3', 'name \\| with pipe']);
    // code spans: the pipe escaped (GFM splits cells first), the newline shown as \n, no <br> inside
    assert.deepEqual(cells(lines[1]!).slice(0, 2), ['`x \\| y\\nz`', '`p\\|q` and r\\|s']);
    // HTML outside code spans is neutralised, inside it is left to the code span
    assert.equal(cells(lines[2]!)[0], '&lt;script>alert(1)&lt;/script> & `<b>`');
  });

  it('escapeCell: unmatched backticks are plain text; longer fences hold shorter runs', () => {
    assert.equal(escapeCell('a ` b | c'), 'a ` b \\| c');
    assert.equal(escapeCell('``a ` | b``'), '``a ` \\| b``');
    assert.equal(escapeCell('  padded\n'), 'padded');
  });

  it('the footer names date, node version, machine, command and the per-area counts', () => {
    const md = renderRobustness(TEMPLATE, [row('decoder', 'd'), row('state', 's'), row('state', 's2')], { ...META, durations: { 'unit tests': 12.4 } });
    assert.ok(!md.includes('about the template'), 'the template comment is dropped');
    assert.ok(md.startsWith('# Title\n'));
    const footer = md.slice(md.indexOf('## Tail'));
    assert.match(footer, /Generated by `make robustness` on 2026-11-26: Node v20\.20\.2, 2-core x86-64; unit tests 12 s\./);
    assert.match(footer, /3 rows \(decoder 1, state 2\)/);
    assert.ok(!md.includes('<!--'), 'markers replaced');
    assert.ok(!/\n\n\n/.test(md), 'no runs of blank lines');
  });

  it('with the lab missing, the lab areas say so and the unit areas are rendered', () => {
    const md = renderRobustness(TEMPLATE, [row('decoder', 'd')], { ...META, labMissing: 'rendered with --unit-only' });
    for (const t of ['Cluster port (UDP 5405)', 'Status port (HTTP 9405)', 'Configuration at run time']) {
      const at = md.indexOf(`## ${t}`);
      assert.ok(at >= 0, t);
      assert.match(md.slice(at, md.indexOf('\n## ', at + 1)), /_Lab rows are missing: rendered with --unit-only\._/);
    }
    assert.equal(tableRows(md, 'Packet decoder').length, 1);
    assert.match(md, /\*\*Lab rows are missing\*\* \(rendered with --unit-only\)/);
    // without labMissing an area without rows is left out
    assert.ok(!renderRobustness(TEMPLATE, [row('decoder', 'd')], META).includes('## Status port'));
  });

  it('parseRows rejects malformed lines with their line number', () => {
    assert.throws(() => parseRows('{"area":"decoder"}\n'), /line 1: missing input/);
    assert.throws(() => parseRows(jsonl([row('decoder', 'd')]) + 'nope\n'), /line 2: not JSON/);
    assert.throws(() => parseRows(JSON.stringify({ ...row('decoder', 'd'), area: 'moon' })), /unknown area "moon"/);
    assert.deepEqual(parseRows('\n\n'), []);
  });
});

describe('robustness recorder', () => {
  it('appends one JSON line per row to PIHA_ROBUSTNESS_OUT, with the calling file; no-op without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'piha-robustness-'));
    const saved = process.env.PIHA_ROBUSTNESS_OUT;
    try {
      delete process.env.PIHA_ROBUSTNESS_OUT;
      recordRobustness({ area: 'decoder', input: 'nowhere', observed: 'x', test: 't' });
      const out = join(dir, 'rows.jsonl');
      process.env.PIHA_ROBUSTNESS_OUT = out;
      recordRobustness({ area: 'decoder', input: 'a|b', observed: 'two\nlines', test: 'recorder' });
      recordRobustness({ area: 'state', input: 'i', observed: 'o', test: 't', file: 'test/unit/given.test.ts' });
      const rows = parseRows(readFileSync(out, 'utf8'));
      assert.deepEqual(rows, [
        { area: 'decoder', input: 'a|b', observed: 'two\nlines', test: 'recorder', file: 'test/robustness/render.test.ts' },
        { area: 'state', input: 'i', observed: 'o', test: 't', file: 'test/unit/given.test.ts' },
      ]);
      assert.throws(() => recordRobustness({ area: 'decoder', input: ' ', observed: 'o', test: 't' }), /empty input/);
    } finally {
      if (saved === undefined) delete process.env.PIHA_ROBUSTNESS_OUT;
      else process.env.PIHA_ROBUSTNESS_OUT = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('helpers: code spans, tallies, ranges, object diffs', () => {
    assert.equal(code('a`b'), '``a`b``');
    assert.equal(code('`x`'), '`` `x` ``');
    assert.equal(code('a\nb\t\u0000'), '`a\\nb\\t\\u0000`');
    assert.equal(tally({ b: 2, a: 2, c: 5, z: 0 }), 'c ×5, a ×2, b ×2');
    assert.equal(range([3, 1, 2], 0, ' ms'), '1–3 ms');
    assert.equal(range([2, 2]), '2');
    assert.equal(range([]), '–');
    assert.deepEqual(describeChange({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [1, 3], e: null }, d: 1 }), ['a.b deleted', 'a.c[1]: 3', 'a.e: null']);
    assert.deepEqual(describeChange({ a: 1 }, ['x']), ['(top level): ["x"]']);
  });
});
