#!/usr/bin/env node
// The `echopanel` bin. Committed (not built) so that npm links it at install time, before `tsc` has written
// dist/; it only starts the built CLI and says how to build it when dist/ is missing.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/bin/echopanel.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'echopanel: NOT_BUILT: the CLI is not built yet (no apps/server/dist); run `node scripts/bootstrap.mjs` in the EchoPanel repository (what `npm start` and `npm test` do first)\n',
  );
  process.exit(1);
}
await import(cli.href);
