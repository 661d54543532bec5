// Bundles src/extension.ts and its runtime dependencies (vscode-languageclient)
// into dist/extension.js with esbuild, and writes dist/THIRD_PARTY_NOTICES.txt
// with the license of every package that ends up in the bundle.
//
// The .vsix therefore ships no node_modules: `vscode` is the only external.

import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  external: ['vscode'],
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});
if (result.errors.length > 0) {
  process.exit(1);
}

// Every package whose files are in the bundle, with its license text.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(input.replaceAll('\\', '/'));
  if (match === null) {
    continue;
  }
  const dir = path.join(root, match[1]);
  if (packages.has(dir)) {
    continue;
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenseFile = fs.readdirSync(dir).find((f) => /^licen[cs]e(\.|$)/i.test(f));
  if (licenseFile === undefined) {
    throw new Error(`${manifest.name}: no license file to put in THIRD_PARTY_NOTICES.txt`);
  }
  packages.set(dir, {
    name: manifest.name,
    version: manifest.version,
    license: manifest.license,
    text: fs.readFileSync(path.join(dir, licenseFile), 'utf8').trim(),
  });
}
const sorted = [...packages.values()].sort((a, b) => a.name.localeCompare(b.name));
const notices = [
  'Tandem Journeys bundles the following packages into extension.js.',
  '',
  ...sorted.flatMap((p) => [`${'='.repeat(78)}`, `${p.name}@${p.version} (${p.license})`, `${'='.repeat(78)}`, p.text, '']),
].join('\n');
fs.writeFileSync(path.join(dist, 'THIRD_PARTY_NOTICES.txt'), notices);

const size = fs.statSync(path.join(dist, 'extension.js')).size;
console.log(`dist/extension.js: ${(size / 1024).toFixed(1)} KiB, bundling ${sorted.map((p) => `${p.name}@${p.version}`).join(', ')}`);
