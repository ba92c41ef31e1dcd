// Line numbers for error paths. Validation works on plain values (doc.toJS()), which
// carry no positions, so the document's node tree is walked once to map each path to the
// line where it is written; an error is then placed at its path or its nearest parent.

import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { indexPath, keyPath, parentPath } from './path.ts';

export type LineMap = Map<string, number>;

export function lineMap(doc: Document, lc: LineCounter): LineMap {
  const lines: LineMap = new Map();
  const lineAt = (node: unknown): number | undefined =>
    isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
  const set = (path: string, line: number | undefined) => {
    if (line !== undefined && !lines.has(path)) lines.set(path, line);
  };
  const visit = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const p = keyPath(path, key);
        // The key's line: for a block value that is where the user wrote `key:`.
        set(p, lineAt(pair.key) ?? lineAt(pair.value));
        visit(pair.value, p);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const p = indexPath(path, i);
        set(p, lineAt(item));
        visit(item, p);
      });
    }
  };
  set('', lineAt(doc.contents));
  visit(doc.contents, '');
  return lines;
}

export function lineOf(lines: LineMap, path: string): number | undefined {
  for (let p: string | null = path; p !== null; p = parentPath(p)) {
    const line = lines.get(p);
    if (line !== undefined) return line;
  }
  return undefined;
}
