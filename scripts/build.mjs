// Bundles the service into one file, dist/piha (node shebang), with esbuild. The single
// executable (Node SEA) is built from this bundle by scripts/sea.mjs.
import { build } from 'esbuild';
import { readFileSync, chmodSync, mkdirSync } from 'node:fs';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['src/cli-entry.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/piha.cjs',
  define: { __PIHA_VERSION__: JSON.stringify(pkg.version) },
  banner: { js: '#!/usr/bin/env node' },
  legalComments: 'none',
  logLevel: 'warning',
});
// Pure ASCII output: esbuild escapes non-ASCII characters in strings but leaves them in
// comments and regular expressions, and a single one makes V8 hold the whole ~3 MB source as
// a two-byte string (twice the memory, in every daemon, for its whole life; bench/idle.ts).
// \uXXXX means the same character in a comment, a string, a template or a (non-/u or /u)
// regular expression, and lines stay where they were, so stack traces keep their line numbers.
const { writeFileSync, copyFileSync } = await import('node:fs');
const src = readFileSync('dist/piha.cjs', 'utf8');
const ascii = src.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== src) writeFileSync('dist/piha.cjs', ascii);
// dist/piha: the CLI for this machine (runs the bundle with the local node).
copyFileSync('dist/piha.cjs', 'dist/piha');
// dist/ holds CommonJS: without this, the package's "type": "module" would apply to dist/piha.
writeFileSync('dist/package.json', '{"type": "commonjs"}\n');
chmodSync('dist/piha', 0o755);
console.log('built dist/piha (' + (readFileSync('dist/piha').length / 1024).toFixed(0) + ' KiB)');
