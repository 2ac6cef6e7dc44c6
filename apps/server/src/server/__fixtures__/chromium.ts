import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's full Chromium (the setup installs it; its headless shell refuses getUserMedia): `ECHOPANEL_CHROMIUM`,
 * else the binary behind Debian's `chromium` wrapper, else `chromium` on PATH.
 */
export function chromiumPath(): string {
  if (process.env.ECHOPANEL_CHROMIUM) return process.env.ECHOPANEL_CHROMIUM;
  if (existsSync('/usr/lib/chromium/chromium')) return '/usr/lib/chromium/chromium';
  const found = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error('chromium is not installed: run node scripts/bootstrap.mjs (as root it installs it), or apt-get install chromium');
  return found;
}

/**
 * Headless Chromium whose fake audio device plays `wav` from the start at each capture, once (then silence), with
 * every permission prompt answered yes: getUserMedia gets it, and getDisplayMedia a fake screen with it as audio.
 */
export function launchChromium(wav: string): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}%noloop`,
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ],
  });
}
