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
// dist/piha: the CLI for this machine (runs the bundle with the local node).
const { writeFileSync, copyFileSync } = await import('node:fs');
copyFileSync('dist/piha.cjs', 'dist/piha');
// dist/ holds CommonJS: without this, the package's "type": "module" would apply to dist/piha.
writeFileSync('dist/package.json', '{"type": "commonjs"}\n');
chmodSync('dist/piha', 0o755);
console.log('built dist/piha (' + (readFileSync('dist/piha').length / 1024).toFixed(0) + ' KiB)');
