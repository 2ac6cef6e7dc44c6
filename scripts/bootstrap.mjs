#!/usr/bin/env node
// First-run setup for a fresh clone, idempotent (a stamp records what was done):
// system tools (apt) → npm install → Python venv → native builds → TypeScript build → embedded models.
// Uses only Node built-ins, so it runs before node_modules exists. `--force` redoes every step.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const stampFile = path.join(root, '.echopanel', 'setup-stamp.json');
const stamp = !force && existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {};
const started = performance.now();

function log(msg) {
  process.stderr.write(`[setup] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (r.status !== 0) {
    log(`FAILED: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return performance.now() - t0;
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function hashOf(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(path.join(root, f)) ? readFileSync(path.join(root, f)) : '');
  return h.digest('hex').slice(0, 16);
}

function saveStamp() {
  mkdirSync(path.dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, JSON.stringify(stamp, null, 2));
}

function step(name, key, fn, present = true) {
  if (stamp[name] === key && present) return;
  const t0 = performance.now();
  fn();
  stamp[name] = key;
  saveStamp();
  log(`${name}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// 1. System tools from apt, one entry per tool (command → Debian package → who needs it).
const SYSTEM_TOOLS = [
  { cmd: 'espeak-ng', pkg: 'espeak-ng', why: 'speech synthesis for tests and the eval set' },
  { cmd: 'sox', pkg: 'sox', why: 'tests and the eval set' },
  { cmd: 'ffmpeg', pkg: 'ffmpeg', why: 'decoding uploads and `echopanel transcribe` files (mp3, m4a, ogg, webm, flac, wav, …); tests' },
  { cmd: 'openssl', pkg: 'openssl', why: 'tests: the self-signed certificate of the HTTPS/WSS (realtime API) tests' },
  { cmd: 'redis-server', pkg: 'redis-server', why: 'tests: the Redis behind the batch-jobs queue (BullMQ), started by the tests themselves' },
  { cmd: 'chromium', pkg: 'chromium', why: "the panel's browser tests (the full browser: its headless shell refuses getUserMedia)" },
];
const missingTools = () => SYSTEM_TOOLS.filter((t) => !has(t.cmd));
step('system-tools', SYSTEM_TOOLS.map((t) => `${t.cmd}:${has(t.cmd)}`).join(','), () => {
  const missing = missingTools();
  if (missing.length === 0) return;
  const pkgs = missing.map((t) => t.pkg);
  if (process.getuid?.() === 0 && has('apt-get')) {
    log(`installing ${pkgs.join(' ')} with apt-get`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', ...pkgs], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } else {
    for (const t of missing) log(`${t.cmd} is missing (${t.why}): apt-get install ${t.pkg}`);
  }
});

// 2. npm dependencies (smart-whisper compiles whisper.cpp here; allowScripts in package.json permits it).
// `npm install`, not `npm ci`: npm 11 leaves other platforms' optional binaries (@swc/core-darwin-*, …) out of
// the lockfile and then refuses `npm ci` as "out of sync"; `npm install` still installs the locked versions.
if (force || stamp.npm !== hashOf('package-lock.json', 'package.json') || !existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
  const t0 = performance.now();
  log('npm install');
  run('npm', ['install', '--no-fund', '--no-audit'], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  // Hashed after the install, which may have touched the lockfile.
  stamp.npm = hashOf('package-lock.json', 'package.json');
  saveStamp();
  log(`npm: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// 3. Python venv with faster-whisper and the bundled tiny.en model package.
const venvPython = path.join(root, '.venv', 'bin', 'python');
step('python', hashOf('requirements.txt'), () => {
  const python = process.env.ECHOPANEL_BOOTSTRAP_PYTHON ?? 'python3';
  if (!existsSync(venvPython)) {
    log(`creating .venv with ${python}`);
    run(python, ['-m', 'venv', path.join(root, '.venv')]);
  }
  log('pip install -r requirements.txt');
  run(venvPython, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', 'requirements.txt']);
}, existsSync(venvPython));

// 4. Native builds tuned for this CPU (whisper.cpp with SIMD), with a portable fallback.
const nativeScript = path.join(root, 'scripts', 'build-smart-whisper.mjs');
// Always run: the script records the build it made inside node_modules and returns at once when it matches
// (an `npm install` that reinstalled smart-whisper leaves the portable build, which this replaces).
if (existsSync(nativeScript)) run(process.execPath, [nativeScript]);

// 5. TypeScript build of every package (tsc -b follows project references).
// Always run: tsc -b is incremental, so an unchanged tree costs about a second.
const buildMs = run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'apps/server']);
// The panel (GET /): type-checked and bundled with esbuild into apps/server/dist/panel, a few seconds.
const panelMs = run(process.execPath, [path.join(root, 'apps', 'server', 'scripts', 'build-panel.mjs')]);
log(`build: ${((buildMs + panelMs) / 1000).toFixed(1)} s`);

// 6. Embedded models: ggml tiny.en converted from the bundled CTranslate2 model, into the model store.
const modelsScript = path.join(root, 'scripts', 'prepare-models.mjs');
if (existsSync(modelsScript)) {
  run(process.execPath, [modelsScript], { env: { ...process.env, ECHOPANEL_PYTHON: process.env.ECHOPANEL_PYTHON ?? venvPython } });
}

saveStamp();
log(`ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
