// ESLint for the whole workspace. Each project's `lint` target runs `eslint .` in its folder (nx runs it before
// `test`); the root `npm test` lints the files no project owns (bench/, scripts/, root configs) first.
// TypeScript sources are linted with type information from the project's tsconfig.test.json (sources and tests
// together), so the promise rules see through awaits; plain .js/.mjs/.cjs files get the untyped rules only.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = path.dirname(fileURLToPath(import.meta.url));

/** Project folders (`packages/core`, `apps/server`, …) from the root package.json's `dir/*` workspace globs. */
function projectDirs() {
  const { workspaces } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  return workspaces.flatMap((glob) => {
    const parent = glob.replace(/\/\*$/, '');
    return readdirSync(path.join(root, parent)).map((name) => `${parent}/${name}`);
  });
}

/**
 * Each project's sources and tests, checked against that project's own programs: tsconfig.test.json, and
 * tsconfig.browser-test.json where browser tests need DOM types.
 */
const typedProjects = projectDirs()
  .map((dir) => ({
    files: [`${dir}/src/**/*.ts`],
    project: ['tsconfig.test.json', 'tsconfig.browser-test.json']
      .filter((name) => existsSync(path.join(root, dir, name)))
      .map((name) => `${dir}/${name}`),
  }))
  .filter((p) => p.project.length > 0);
// The server's browser panel: its own program (DOM lib, bundler resolution), bundled by esbuild.
typedProjects.push({ files: ['apps/server/panel/src/**/*.ts'], project: 'apps/server/panel/tsconfig.json' });

export default defineConfig(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/coverage/**', '.nx/**', '.venv/**', '.echopanel/**', 'tmp/**'] },
  js.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // One import statement per module; `import type` from the same module may stand apart.
      'no-duplicate-imports': ['error', { allowSeparateTypeImports: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
      'no-var': 'error',
      'object-shorthand': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { 'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
  {
    // Every TypeScript file, typed or not (the plugin template, root configs).
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    rules: {
      // TypeScript reports undefined names itself (and knows the lib and ambient types ESLint does not).
      'no-undef': 'off',
      // Unused bindings are dead code; a leading underscore marks a parameter a signature requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // The code base imports types with `import type`: keeps type-only dependencies out of the emitted JS.
      // `typeof import('x')` stays allowed: it types a module that is loaded lazily (onnxruntime, the addon).
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false },
      ],
      // Generator functions cannot be arrows: `const self = this` is how they reach the instance.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
    },
  },
  ...typedProjects.map(({ files, project }) => ({
    files,
    // The type-checked set: no-floating-promises, no-misused-promises, await-thenable (a forgotten await here is a
    // lost error or an unordered write to a worker), no-unsafe-* (an `any` spreads silently), unbound-method, ….
    extends: [tseslint.configs.recommendedTypeCheckedOnly],
    languageOptions: { parserOptions: { project, tsconfigRootDir: root } },
    rules: {
      // Async methods that implement a Promise-returning interface need no `await` (a throw still rejects).
      '@typescript-eslint/require-await': 'off',
      // Rejecting with an abort signal's reason or rethrowing a caught value passes the original error on.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // A `return await` inside try/catch is what makes the catch see the rejection; elsewhere it is noise.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // A new event or state type must be handled (or a `default` must say it is ignored) wherever it is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  })),
  { files: ['apps/server/panel/src/**/*.ts'], languageOptions: { globals: { ...globals.browser } } },
  {
    // Tests assert on parsed JSON bodies (`body: any`) and reach into internals on purpose: `expect` checks them.
    files: ['**/*.test.ts', '**/__fixtures__/**/*.ts', '**/*.fixture.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
