#!/usr/bin/env node
// Rebuilds smart-whisper's native addon (its vendored whisper.cpp) for the CPU this machine has.
//
// smart-whisper's own install step (`node-gyp rebuild`) compiles whisper.cpp with no x86 SIMD flags, so ggml
// falls back to scalar code on Linux/Windows. This script rebuilds it with the CPU's features (AVX/AVX2/FMA/F16C,
// AVX-512 when present) through CFLAGS/CXXFLAGS, which node-gyp's generated Makefile appends to every compile.
// If that build fails, or the CPU lacks the features, it rebuilds the portable variant instead, so an install
// always ends with a working addon.
//
// It also applies small, idempotent patches to smart-whisper's sources before building:
//   1. `whisper_context_params` was left uninitialised (only `use_gpu` set): flash_attn / dtw fields held stack
//      garbage. Now it starts from whisper_context_default_params().
//   2. A failed model load called whisper_print_timings(NULL) and crashed the process. Now it reports the error.
//   3. Every inference allocates a whisper_state (~170 MB of compute buffers and caches) on a libuv thread and
//      frees it after; glibc keeps much of that in per-thread arenas, so RSS grew ~50 MB per inference up to
//      several hundred MB. malloc_trim(0) after freeing a state or a model hands it back (glibc only).
//   4. The native build compiles ggml's llamafile sgemm (tinyBLAS, upstream's default, left out of smart-whisper's
//      source list) and routes the encoder's two slow matrix products through it: the attention's K·Q (a permuted,
//      non-contiguous Q) and the convolutions (f16 im2col x f16 kernel) fell back to one dot product per row.
//      Measured (tiny.en, 2 threads, encoder of a 20 s window): 566 → 370 ms, same words on 10 real recordings.
//
// Usage:
//   node scripts/build-smart-whisper.mjs [--variant auto|native|portable] [--force] [--keep <dir>] [--check]
//     --variant  auto (default): native when the CPU has AVX2+FMA+F16C, else portable.
//                Env ECHOPANEL_WHISPER_BUILD overrides the default (e.g. portable for images run on other CPUs).
//     --force    rebuild even when the recorded build matches.
//     --keep     also copy the built .node into <dir>/<variant>/smart-whisper.node (used by the benchmark).
//     --check    print the recorded build and the flags that would be used, build nothing.
// Exit code 0 when a working addon is in place.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const log = (msg) => process.stdout.write(`[build-smart-whisper] ${msg}\n`);

const swDir = locateSmartWhisper();
const markerPath = path.join(swDir, 'build', 'echopanel-build.json');
const addonPath = path.join(swDir, 'build', 'Release', 'smart-whisper.node');

const PATCHES = [
  {
    file: 'src/binding/binding.cc',
    find: '    if (IsProduction(env.Global())) {\n        whisper_log_set([](ggml_log_level level, const char *text, void *user_data) {}, nullptr);\n    }\n',
    replace: [
      '    // echopanel: whisper.cpp\'s INFO/DEBUG lines (a dozen per model load) are dropped, its warnings and errors still',
      '    // reach stderr (smart-whisper dropped everything under NODE_ENV=production, nothing otherwise).',
      '    // ECHOPANEL_WHISPER_LOG=all keeps every line.',
      '    const char *echopanel_log = getenv("ECHOPANEL_WHISPER_LOG");',
      '    if (echopanel_log == nullptr || strcmp(echopanel_log, "all") != 0) {',
      '        whisper_log_set([](ggml_log_level level, const char *text, void *) {',
      '            static ggml_log_level last = GGML_LOG_LEVEL_NONE;',
      '            if (level != GGML_LOG_LEVEL_CONT) last = level;',
      '            if (last == GGML_LOG_LEVEL_WARN || last == GGML_LOG_LEVEL_ERROR) {',
      '                fputs(text, stderr);',
      '                fflush(stderr);',
      '            }',
      '        }, nullptr);',
      '    }',
      '',
    ].join('\n'),
  },
  {
    file: 'src/binding/binding.cc',
    find: '#include <napi.h>\n',
    replace: '#include <napi.h>\n#include <cstdio>\n#include <cstdlib>\n#include <cstring> // echopanel: log filter\n',
  },
  {
    file: 'src/binding/model.cc',
    find: '    whisper_context_params params;\n    params.use_gpu',
    replace: '    whisper_context_params params = whisper_context_default_params(); // echopanel: was uninitialised\n    params.use_gpu',
  },
  {
    file: 'src/binding/model.cc',
    find: '        if (context == nullptr) {\n            SetError("Failed to initialize whisper context");\n        }\n        whisper_print_timings(context);',
    replace:
      '        if (context == nullptr) {\n            SetError("Failed to initialize whisper context");\n            return; // echopanel: print_timings(NULL) crashed the process\n        }\n        whisper_print_timings(context);',
  },
  {
    file: 'src/binding/transcribe.cc',
    find: '#include "transcribe.h"\n',
    replace: '#include "transcribe.h"\n#if defined(__GLIBC__)\n#include <malloc.h> // echopanel: malloc_trim\n#endif\n',
  },
  {
    file: 'src/binding/transcribe.cc',
    find: '            whisper_free_state(state);\n        }\n',
    replace:
      '            whisper_free_state(state);\n#if defined(__GLIBC__)\n            malloc_trim(0); // echopanel: return the freed state to the OS\n#endif\n        }\n',
  },
  {
    file: 'src/binding/model.cc',
    find: '    void Execute() override { whisper_free(context); }',
    replace:
      '    void Execute() override {\n        whisper_free(context);\n#if defined(__GLIBC__)\n        malloc_trim(0); // echopanel: return the freed model to the OS\n#endif\n    }',
  },
  {
    file: 'src/binding/model.cc',
    find: '#include "model.h"\n',
    replace: '#include "model.h"\n#if defined(__GLIBC__)\n#include <malloc.h> // echopanel: malloc_trim\n#endif\n',
  },
  // 4. llamafile sgemm (used only where GGML_USE_LLAMAFILE is defined: the native build).
  {
    file: 'dist/build.js',
    find: '      "whisper.cpp/ggml/src/ggml-aarch64.c"\n    ],',
    replace: '      "whisper.cpp/ggml/src/ggml-aarch64.c",\n      "whisper.cpp/ggml/src/sgemm.cpp"\n    ],',
  },
  {
    file: 'whisper.cpp/ggml/src/ggml.c',
    find: '#include <llamafile/sgemm.h>\n',
    replace: '#include "sgemm.h" // echopanel: vendored beside ggml.c, not in llamafile/\n',
  },
  {
    file: 'whisper.cpp/ggml/src/sgemm.cpp',
    find: '#include "ggml-impl.h"\n#include "ggml-quants.h"\n',
    replace: '#include "ggml-impl.h"\n#include "ggml-cpu-impl.h" // echopanel: GGML_FP16_TO_FP32 and the SIMD headers live here now\n#include "ggml-quants.h"\n',
  },
  {
    file: 'whisper.cpp/src/whisper.cpp',
    find: '                struct ggml_tensor * KQ = ggml_mul_mat(ctx0, K, Q);\n\n                struct ggml_tensor * KQ_soft_max = ggml_soft_max_ext(ctx0, KQ, nullptr, KQscale, 0.0f);\n\n                struct ggml_tensor * V =\n                    ggml_cpy(ctx0,',
    replace: [
      '                // echopanel: a contiguous Q lets sgemm take this product (a permuted one falls back to per-row dot products)',
      '                struct ggml_tensor * KQ = ggml_mul_mat(ctx0, K, ggml_cont(ctx0, Q));',
      '',
      '                struct ggml_tensor * KQ_soft_max = ggml_soft_max_ext(ctx0, KQ, nullptr, KQscale, 0.0f);',
      '',
      '                struct ggml_tensor * V =',
      '                    ggml_cpy(ctx0,',
    ].join('\n'),
  },
  {
    file: 'whisper.cpp/src/whisper.cpp',
    find: 'static struct ggml_cgraph * whisper_build_graph_conv(',
    replace: [
      '// echopanel: with sgemm, a 1-D convolution as an f32 im2col x f32 kernel product (ggml_conv_1d\'s f16 x f16 product',
      '// has no sgemm kernel on x86 and took a quarter of the encoder\'s time).',
      'static struct ggml_tensor * echopanel_conv_1d_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int d0) {',
      '#if defined(GGML_USE_LLAMAFILE)',
      '    struct ggml_tensor * im2col = ggml_im2col(ctx, a, b, s0, 0, a->ne[0] / 2, 0, d0, 0, false, GGML_TYPE_F32);',
      '    struct ggml_tensor * k = ggml_cpy(ctx, a, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, a->ne[0], a->ne[1], a->ne[2]));',
      '    struct ggml_tensor * result = ggml_mul_mat(ctx,',
      '            ggml_reshape_2d(ctx, im2col, im2col->ne[0], im2col->ne[2] * im2col->ne[1]),',
      '            ggml_reshape_2d(ctx, k, k->ne[0] * k->ne[1], k->ne[2]));',
      '    return ggml_reshape_3d(ctx, result, im2col->ne[1], a->ne[2], im2col->ne[2]);',
      '#else',
      '    return ggml_conv_1d_ph(ctx, a, b, s0, d0);',
      '#endif',
      '}',
      '',
      'static struct ggml_cgraph * whisper_build_graph_conv(',
    ].join('\n'),
  },
  {
    file: 'whisper.cpp/src/whisper.cpp',
    find: '            cur = ggml_conv_1d_ph(ctx0, model.e_conv_1_w, mel, 1, 1);\n',
    replace: '            cur = echopanel_conv_1d_ph(ctx0, model.e_conv_1_w, mel, 1, 1);\n',
  },
  {
    file: 'whisper.cpp/src/whisper.cpp',
    find: '            cur = ggml_conv_1d_ph(ctx0, model.e_conv_2_w, cur, 2, 1);\n',
    replace: '            cur = echopanel_conv_1d_ph(ctx0, model.e_conv_2_w, cur, 2, 1);\n',
  },
];

const candidates = chooseVariant(args.variant ?? process.env.ECHOPANEL_WHISPER_BUILD ?? 'auto');
const wanted = candidates[0];
const patchHash = createHash('sha256').update(JSON.stringify(PATCHES)).digest('hex').slice(0, 12);
const swVersion = JSON.parse(readFileSync(path.join(swDir, 'package.json'), 'utf8')).version;
const recorded = readMarker();

if (args.check) {
  log(`smart-whisper ${swVersion} at ${swDir}`);
  log(`recorded build: ${recorded ? JSON.stringify(recorded) : 'none (stock install)'}`);
  log(`would build: ${candidates.map((c) => `${c.variant} "${describe(c)}"`).join(', then ')} (${wanted.why})`);
  process.exit(0);
}

const upToDate =
  !args.force &&
  recorded &&
  existsSync(addonPath) &&
  recorded.variant === wanted.variant &&
  recorded.flags === describe(wanted) &&
  recorded.patchHash === patchHash &&
  recorded.smartWhisper === swVersion &&
  recorded.nodeAbi === process.versions.modules;
if (upToDate) {
  log(`up to date: ${recorded.variant} build (${recorded.flags || 'no extra flags'})`);
  keep(recorded.variant);
  process.exit(0);
}

applyPatches();
let built;
for (const candidate of candidates) {
  if (build(candidate) && smokeTest()) {
    built = candidate;
    break;
  }
  log(`${candidate.variant} build (${describe(candidate) || 'no extra flags'}) unusable; trying the next option`);
}
if (!built) fail('no build of smart-whisper worked, not even the portable one; see the compiler output above');
writeFileSync(
  markerPath,
  JSON.stringify(
    {
      variant: built.variant,
      flags: describe(built),
      why: built.why,
      patchHash,
      smartWhisper: swVersion,
      nodeAbi: process.versions.modules,
      builtAt: new Date().toISOString(),
    },
    null,
    2,
  ) + '\n',
);
keep(built.variant);
log(`done: ${built.variant} build (${describe(built) || 'no extra flags'})`);

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--force') out.force = true;
    else if (a === '--check') out.check = true;
    else if (a === '--variant') out.variant = argv[++i];
    else if (a.startsWith('--variant=')) out.variant = a.slice(10);
    else if (a === '--keep') out.keep = argv[++i];
    else if (a.startsWith('--keep=')) out.keep = a.slice(7);
    else fail(`unknown argument ${a}`);
  }
  return out;
}

function locateSmartWhisper() {
  const from = [path.join(root, 'packages', 'provider-whisper-cpp', 'package.json'), path.join(root, 'package.json')];
  for (const f of from) {
    try {
      return path.dirname(createRequire(f).resolve('smart-whisper/package.json'));
    } catch {
      // try the next anchor
    }
  }
  fail('smart-whisper is not installed (run npm install first)');
}

/** CPU features from /proc/cpuinfo (Linux x64); empty elsewhere. */
function cpuFlags() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return new Set();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    return new Set((line ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

/** Build options to try in order; the last is always the portable build. */
function chooseVariant(requested) {
  if (!['auto', 'native', 'portable'].includes(requested)) fail(`unknown variant ${requested} (auto|native|portable)`);
  // node-gyp's Release sets no NDEBUG, unlike whisper.cpp's own Release builds: without it ggml's allocator prints
  // ~5 lines to stderr on every inference (smart-whisper makes a fresh state per call) and keeps its assert()s.
  const release = ['-DNDEBUG'];
  const portable = (why) => ({ variant: 'portable', flags: release, ldflags: [], why });
  if (requested === 'portable') return [portable('requested')];
  if (process.platform === 'darwin') {
    // smart-whisper already builds with Accelerate/Metal on macOS; nothing to add.
    return [portable('macOS: the stock build uses Accelerate/Metal')];
  }
  const f = cpuFlags();
  const base = ['avx', 'avx2', 'fma', 'f16c'];
  const missing = base.filter((x) => !f.has(x));
  if (missing.length > 0) {
    if (requested === 'native') fail(`this CPU lacks ${missing.join(', ')}; use --variant portable`);
    return [portable(`CPU lacks ${missing.join(', ')}`)];
  }
  // GGML_USE_LLAMAFILE: ggml's sgemm (tinyBLAS) kernels for the big matrix products, as upstream builds have it.
  const simd = ['-mavx', '-mavx2', '-mfma', '-mf16c', '-DGGML_USE_LLAMAFILE'];
  // ggml of this vintage has AVX-512 paths for its f16/f32 dot products; use them when the CPU has them.
  if (['avx512f', 'avx512dq', 'avx512bw', 'avx512vl'].every((x) => f.has(x)) && process.env.ECHOPANEL_WHISPER_AVX512 !== '0') {
    simd.push('-mavx512f', '-mavx512dq', '-mavx512bw', '-mavx512vl');
  }
  const why = `CPU has ${base.join('/')}${simd.includes('-mavx512f') ? '/AVX-512' : ''}`;
  const out = [];
  // ggml's own thread barrier spins without yielding; on a busy machine (more runnable threads than cores) a
  // descheduled worker stalls the rest for whole time slices (measured: 2 threads 8× slower than 1 under load).
  // Its OpenMP path (what upstream whisper.cpp builds use) spins briefly, then sleeps.
  if (process.env.ECHOPANEL_WHISPER_OPENMP !== '0') {
    out.push({ variant: 'native', flags: [...simd, ...release, '-fopenmp', '-DGGML_USE_OPENMP'], ldflags: ['-fopenmp'], why: `${why}; OpenMP threads` });
  }
  out.push({ variant: 'native', flags: [...simd, ...release], ldflags: [], why });
  out.push(portable('fallback: the native builds failed'));
  return out;
}

function describe(target) {
  return [...target.flags, ...target.ldflags.map((l) => `ld:${l}`)].join(' ');
}

function readMarker() {
  try {
    return JSON.parse(readFileSync(markerPath, 'utf8'));
  } catch {
    return undefined;
  }
}

function applyPatches() {
  for (const p of PATCHES) {
    const file = path.join(swDir, p.file);
    const text = readFileSync(file, 'utf8');
    if (text.includes(p.replace)) continue;
    if (!text.includes(p.find)) {
      // A newer smart-whisper may have fixed or moved this code; building without the patch is still correct.
      log(`patch target not found in ${p.file} (smart-whisper changed?); skipping that patch`);
      continue;
    }
    writeFileSync(file, text.replace(p.find, p.replace));
    log(`patched ${p.file}`);
  }
}

function nodeGypCommand() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not a direct dependency; the npm-bundled copy is the normal case
  }
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) fail('node-gyp not found (it ships with npm; set npm_config_node_gyp to its bin/node-gyp.js)');
  return found;
}

function build(target) {
  const flags = target.flags.join(' ');
  const join = (a, b) => [a, b].filter(Boolean).join(' ');
  const env = {
    ...process.env,
    CFLAGS: join(process.env.CFLAGS, flags),
    CXXFLAGS: join(process.env.CXXFLAGS, flags),
    LDFLAGS: join(process.env.LDFLAGS, target.ldflags.join(' ')),
  };
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
  log(`building ${target.variant} (${describe(target) || 'no extra flags'}; ${target.why}) with ${jobs} job(s)...`);
  const started = Date.now();
  const res = spawnSync(process.execPath, [nodeGypCommand(), 'rebuild', '--release', `--jobs=${jobs}`, ...nodedirArgs()], {
    cwd: swDir,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const ok = res.status === 0 && existsSync(addonPath);
  log(`${target.variant} build ${ok ? 'succeeded' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ok;
}

/**
 * Node headers: npm passes its `nodedir` config to install scripts, a direct node-gyp call does not, and without
 * headers node-gyp tries to download them (no network here). Use npm's setting, else the running Node's own
 * prefix when it ships headers (distro packages put them in <prefix>/include/node).
 */
function nodedirArgs() {
  let dir = process.env.npm_config_nodedir;
  if (!dir) {
    try {
      const npmCli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
      const out = existsSync(npmCli)
        ? execFileSync(process.execPath, [npmCli, 'config', 'get', 'nodedir'], { cwd: root, encoding: 'utf8' }).trim()
        : '';
      if (out && out !== 'undefined' && out !== 'null') dir = out;
    } catch {
      // npm unavailable: fall through to the prefix check
    }
  }
  if (!dir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (existsSync(path.join(prefix, 'include', 'node', 'common.gypi'))) dir = prefix;
  }
  return dir ? [`--nodedir=${dir}`] : [];
}

/** Loads the addon in a child process (an illegal-instruction crash must not take this script down). */
function smokeTest() {
  try {
    execFileSync(process.execPath, ['-e', `require(${JSON.stringify(addonPath)})`], { stdio: 'pipe' });
    return true;
  } catch (err) {
    log(`addon smoke test failed: ${String(err.stderr ?? err.message).trim().split('\n')[0]}`);
    return false;
  }
}

function keep(variant) {
  if (!args.keep) return;
  const dir = path.resolve(args.keep, variant);
  mkdirSync(dir, { recursive: true });
  copyFileSync(addonPath, path.join(dir, 'smart-whisper.node'));
  log(`kept a copy in ${dir}`);
}

function fail(msg) {
  process.stderr.write(`[build-smart-whisper] error: ${msg}\n`);
  process.exit(1);
}
