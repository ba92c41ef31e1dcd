// Entry points: YAML text or a file in, PihaConfig or a list of errors out.

import { readFileSync } from 'node:fs';
import { isNode, isScalar, LineCounter, parseDocument, visit, type Document, type YAMLError } from 'yaml';
import { Issues, type ConfigError, type ConfigResult } from './errors.ts';
import { lineMap, lineOf } from './locate.ts';
import { validate } from './validate.ts';

export const DEFAULT_CONFIG_PATH = '/etc/piha/piha.yaml';

/** `source` (the file name) is accepted for symmetry with formatErrors(errors, source);
 *  the errors themselves carry paths and lines, not the file name. */
export function parseConfig(text: string, _source?: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  // A broken document would only produce follow-on errors, so syntax errors come alone.
  if (doc.errors.length > 0) return fail(doc.errors.map(syntaxError));
  const complexKeys = findComplexKeys(doc, lineCounter);
  if (complexKeys.length > 0) return fail(complexKeys);

  const issues = new Issues();
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses to expand a "billion laughs" file; nothing else is expected here.
    return fail([{ path: '', message: `cannot expand the YAML: ${(e as Error).message} (use fewer * aliases)` }]);
  }
  const config = validate(root, issues);
  if (issues.count === 0 && config) return { config, errors: [] };
  const lines = lineMap(doc, lineCounter);
  const errors = issues.list.map((e) => {
    const line = lineOf(lines, e.path);
    return line === undefined ? e : { ...e, line };
  });
  // Stable sort: file order, like a compiler; errors without a line keep their place last.
  errors.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  return fail(errors);
}

export function loadConfigFile(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const what = err.message.replace(/, \w+ '.*'$/, ''); // drop the repeated path
    const fix =
      err.code === 'ENOENT' ? 'create it, see README'
      : err.code === 'EACCES' || err.code === 'EPERM' ? 'run as root or make it readable'
      : err.code === 'EISDIR' ? 'give the path of the YAML file, not a directory'
      : 'check the path';
    return fail([{ path: '', message: `cannot read: ${what} (${fix})` }]);
  }
  return parseConfig(text, path);
}

function fail(errors: ConfigError[]): ConfigResult {
  return { config: null, errors };
}

// yaml's own wording, with the fix a piha user needs where the generic one does not fit.
const SYNTAX_HINTS: Partial<Record<string, { what?: string; fix: string }>> = {
  MULTIPLE_DOCS: { what: 'the file holds more than one YAML document', fix: 'remove the --- line; piha reads a single document' },
  DUPLICATE_KEY: { fix: 'a key may appear once per section; remove or merge the repeated one' },
  TAB_AS_INDENT: { fix: 'indent with spaces' },
};

function syntaxError(e: YAMLError): ConfigError {
  // yaml's message is "<what> at line L, column C:\n\n<code frame>"; keep the first part.
  const hint = SYNTAX_HINTS[e.code];
  const what = hint?.what ?? e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const fix = hint?.fix ?? 'check indentation, colons and quotes';
  const pos = e.linePos?.[0];
  const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
  const err: ConfigError = { path: '', message: `YAML syntax error${at}: ${what} (${fix})` };
  if (pos) err.line = pos.line;
  return err;
}

/** Keys that are lists or mappings cannot become object keys (yaml would stringify them
 *  with a process warning); no key in this file format is one. */
function findComplexKeys(doc: Document, lc: LineCounter): ConfigError[] {
  const out: ConfigError[] = [];
  visit(doc, {
    Pair(_, pair) {
      if (pair.key !== null && !isScalar(pair.key)) {
        const range = isNode(pair.key) ? pair.key.range : undefined;
        const line = range ? lc.linePos(range[0]).line : undefined;
        const err: ConfigError = { path: '', message: 'a key must be a plain word, not a list or mapping (check for a stray ? or brackets)' };
        if (line !== undefined) err.line = line;
        out.push(err);
      }
    },
  });
  return out;
}
