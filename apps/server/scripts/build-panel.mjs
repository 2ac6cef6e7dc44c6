#!/usr/bin/env node
// Builds the panel (panel/) into dist/panel, which the server serves at GET /: type-checks it (esbuild strips
// types without checking them), bundles the page script and its AudioWorklet processor (each loads as one file:
// a worklet cannot import), and copies the HTML and CSS. Part of `npm run build` and of the setup.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const panel = path.join(pkg, 'panel');
const out = path.join(pkg, 'dist', 'panel');

const tsc = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve('typescript/bin/tsc')), '-p', path.join(panel, 'tsconfig.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

mkdirSync(out, { recursive: true });
await build({
  entryPoints: { panel: path.join(panel, 'src/main.ts'), 'capture-worklet': path.join(panel, 'src/capture-worklet.ts') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(panel, 'index.html'), path.join(out, 'index.html'));
copyFileSync(path.join(panel, 'panel.css'), path.join(out, 'panel.css'));
