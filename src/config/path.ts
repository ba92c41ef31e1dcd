// Error paths like `resources[0].checks[1].url`. Keys that are not plain identifiers
// (node names such as `pi-1` inside prefers:) are written ["pi-1"] so a path stays
// unambiguous and can be walked back to its parent for line lookup.

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function keyPath(parent: string, key: string): string {
  if (!IDENT.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent ? `${parent}.${key}` : key;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

const LAST_SEGMENT = /(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])$/;

/** The enclosing path ('' for a top-level key), or null for the root itself. */
export function parentPath(path: string): string | null {
  if (path === '') return null;
  const m = LAST_SEGMENT.exec(path);
  return m ? path.slice(0, m.index) : '';
}
