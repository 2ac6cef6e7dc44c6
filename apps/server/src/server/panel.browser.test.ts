/**
 * @jest-environment ../../packages/vad-silero/jest.environment.js
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEGRADE_LEVELS, encodeWav } from '@echopanel/core';
import {
  AUDIO_FORMATS,
  RECOGNIZABLE_WER,
  SPEECH_SENTENCES,
  TranscriptPool,
  concatPcm,
  encodeAudioFixture,
  fixtureFile,
  silence,
  synthesizeSpeech,
} from '@echopanel/plugin-testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer } from './start-server.js';
import { launchChromium } from './__fixtures__/chromium.js';
import { stopServer, testRuntime, testServer, waitForHealth } from './__fixtures__/test-server.js';

// The panel in Debian's Chromium against real servers on the real default engine. The fake microphone plays
// the test sentences with pauses, padded with silence, once per capture (then silence).
const SPEECH = concatPcm(silence(1), ...SPEECH_SENTENCES.flatMap((s) => [synthesizeSpeech(s).samples, silence(1.2)]), silence(2));
const SPEECH_MS = (SPEECH.length / 16000) * 1000;
const WAV = fixtureFile('panel-microphone.wav', encodeWav(SPEECH, 16000));
const REFERENCE = SPEECH_SENTENCES.join(' ');
const API_KEY = 'panel-test-key';
/**
 * The degrade ladder off: on a busy 2-core machine two streams push it to DEGRADE, whose actions (VAD off, beam 1)
 * change the transcript; this file tests the panel, the ladder has its own tests.
 */
const PANEL_SERVER = { asr: { degrade: { enabled: false } } };

type TestServer = Awaited<ReturnType<typeof testServer>>;

const pool = new TranscriptPool();
const heardLog: string[] = [];
/** Pools a transcript (and logs it for the last test's report). */
function heard(reference: string, hypothesis: string): number {
  const w = pool.heard(reference, hypothesis);
  heardLog.push(`${w.toFixed(3)}: ${hypothesis}`);
  return w;
}
let browser: Browser;
let context: BrowserContext;
let main: TestServer | undefined;
let keyed: TestServer | undefined;
let page: Page;

beforeAll(async () => {
  [browser, main, keyed] = await Promise.all([launchChromium(WAV), testServer(PANEL_SERVER), testServer({ ...PANEL_SERVER, server: { apiKey: API_KEY } })]);
  await Promise.all([waitForHealth(main.server.url, 200), waitForHealth(keyed.server.url, 200, { authorization: `Bearer ${API_KEY}` })]);
  context = await browser.newContext();
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: main.server.url });
  page = await context.newPage();
}, 240000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([stopServer(main), stopServer(keyed)]);
});

/** The text of every final in the role="log" transcript, joined. */
async function logText(p: Page, lane?: string): Promise<string> {
  const lines = p.getByRole('log').locator('.line');
  const texts: string[] = [];
  for (const line of await lines.all()) {
    if (lane === undefined || (await line.locator('.who').textContent()) === lane) texts.push((await line.locator('.text').textContent()) ?? '');
  }
  return texts.join(' ');
}

async function waitForText(p: Page, selector: string, re: RegExp, timeout = 60000): Promise<void> {
  await p.waitForFunction(([sel, src]) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ''), [selector, re.source] as const, { timeout });
}

async function waitForFinals(p: Page, atLeast: number, timeout = 60000): Promise<void> {
  await p.waitForFunction((n) => document.querySelectorAll('#log .line').length >= n, atLeast, { timeout });
}

/** Plays the fake microphone's speech to the end and stops, waiting for the last finals. */
async function speakAndStop(p: Page): Promise<void> {
  await p.waitForTimeout(SPEECH_MS);
  await p.getByRole('button', { name: 'Stop' }).click();
  await waitForText(p, '#connection', /^stopped$/);
}

test('GET / serves the panel, whose every request goes to this server', async () => {
  const foreign: string[] = [];
  const url = main!.server.url;
  const onRequest = (r: { url(): string }) => {
    if (!r.url().startsWith(url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url());
  };
  page.on('request', onRequest);
  const res = await page.goto(main!.server.url + '/');
  expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
  await waitForText(page, '#server', /Ready: tiny\.en on faster-whisper/);
  expect(await page.getByRole('log').count()).toBe(1);
  for (const name of ['Start microphone', 'Share system audio', 'Stop', 'Upload file', 'Export']) {
    expect(await page.getByRole('button', { name, exact: true }).count()).toBe(1);
  }
  page.off('request', onRequest);
  expect(foreign).toEqual([]);
});

test('transcribes the microphone into the log, partials below it, with a screenshot mid-session', async () => {
  // Records whether a partial ever showed a stable prefix and a tail apart.
  await page.evaluate(() => {
    const w = window as unknown as { sawStableAndTail: boolean };
    w.sawStableAndTail = false;
    const partials = document.getElementById('partials')!;
    new MutationObserver(() => {
      const p = partials.querySelector('.partial');
      if (p?.querySelector('.stable')?.textContent && p.querySelector('.unstable')?.textContent) w.sawStableAndTail = true;
    }).observe(partials, { childList: true, characterData: true, subtree: true });
  });
  await page.getByRole('button', { name: 'Start microphone' }).click();
  await waitForText(page, '#connection', /You: live/);
  expect(await page.getByRole('button', { name: 'Start microphone' }).isDisabled()).toBe(true);
  await page.waitForSelector('.partials .partial', { timeout: 30000 });
  await waitForFinals(page, 1);
  const shot = path.join(os.tmpdir(), `echopanel-panel-${process.pid}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  process.stdout.write(`panel screenshot (mid-session): ${shot}\n`);
  await speakAndStop(page);
  const text = await logText(page, 'You');
  expect(heard(REFERENCE, text)).toBeLessThan(RECOGNIZABLE_WER);
  expect(await page.locator('#dropped').textContent()).toBe('0.0 s');
  expect(DEGRADE_LEVELS).toContain(await page.locator('#degrade').textContent());
  expect(await page.locator('.partials .partial').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { sawStableAndTail: boolean }).sawStableAndTail)).toBe(true);
});

test('exports the session as srt, vtt, txt and json; copies it', async () => {
  const texts = await page.getByRole('log').locator('.line .text').allTextContents();
  expect(texts.length).toBeGreaterThan(0);
  const exported: Record<string, string> = {};
  for (const format of ['srt', 'vtt', 'txt', 'json']) {
    await page.getByLabel('Format').selectOption(format);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^echopanel-[0-9-]+\\.${format}$`));
    exported[format] = readFileSync(await download.path(), 'utf8');
  }
  const cues = exported.srt.trim().split(/\n\n/).map((c) => c.split('\n'));
  expect(cues.map((c) => c.slice(2).join(' '))).toEqual(texts);
  let previous = -1;
  cues.forEach((c, i) => {
    expect(c[0]).toBe(String(i + 1));
    const m = /^(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})$/.exec(c[1]);
    expect(m).not.toBeNull();
    const start = Number(m![1]) * 3600 + Number(m![2]) * 60 + Number(m![3]) + Number(m![4]) / 1000;
    const end = Number(m![5]) * 3600 + Number(m![6]) * 60 + Number(m![7]) + Number(m![8]) / 1000;
    expect(end).toBeGreaterThan(start);
    expect(start).toBeGreaterThanOrEqual(previous);
    // Within the fake microphone's speech.
    expect(end).toBeLessThan(SPEECH_MS / 1000 + 5);
    previous = start;
  });
  expect(exported.vtt.startsWith('WEBVTT\n\n')).toBe(true);
  expect(exported.vtt).toContain(texts[0]);
  expect(exported.txt.trim().split('\n')).toEqual(texts.map((t) => expect.stringMatching(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${escape(t)}$`))));
  const json = JSON.parse(exported.json) as { model: string; provider: string; segments: { source: string; text: string }[] };
  expect(json).toMatchObject({ model: 'tiny.en', provider: 'faster-whisper' });
  expect(json.segments.map((s) => s.text)).toEqual(texts);
  expect(new Set(json.segments.map((s) => s.source))).toEqual(new Set(['mic']));

  await page.getByRole('button', { name: 'Copy' }).click();
  await waitForText(page, '#notice', /copied/);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(exported.txt);
  await page.getByRole('button', { name: 'Clear' }).click();
  expect(await page.getByRole('log').locator('.line').count()).toBe(0);
});

test('uploads a file and shows its transcript with progress; the log follows new lines until scrolled up', async () => {
  const reference = [...SPEECH_SENTENCES].reverse().join(' ');
  const pcm = concatPcm(silence(0.5), ...[...SPEECH_SENTENCES].reverse().flatMap((s) => [synthesizeSpeech(s).samples, silence(0.8)]));
  const ogg = encodeAudioFixture(fixtureFile('panel-upload.wav', encodeWav(pcm, 16000)), AUDIO_FORMATS.find((f) => f.ext === 'ogg')!);
  const name = path.basename(ogg);
  // A small window, so that the lines overflow the log.
  await page.setViewportSize({ width: 480, height: 240 });
  await page.evaluate(() => {
    const seen: string[] = ((window as unknown as { uploadStates: string[] }).uploadStates = []);
    const el = document.getElementById('upload-state')!;
    new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
  });
  const upload = async () => {
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('button', { name: 'Upload file' }).click()]);
    await chooser.setFiles(ogg);
    await page.waitForFunction(() => (window as unknown as { uploadStates: string[] }).uploadStates.at(-1)?.endsWith('s transcribed'), undefined, { timeout: 120000 });
  };
  const atBottom = () => page.getByRole('log').evaluate((log) => log.scrollHeight - log.scrollTop - log.clientHeight < 2);

  await upload();
  const states = await page.evaluate(() => (window as unknown as { uploadStates: string[] }).uploadStates);
  expect(states).toEqual(expect.arrayContaining([expect.stringMatching(/^Uploading .*: \d+ %$/), `Transcribing ${name}…`]));
  expect(await page.locator('#upload-progress').isHidden()).toBe(true);
  expect(heard(reference, await logText(page, name))).toBeLessThan(RECOGNIZABLE_WER);
  // Overflowing by more than the slack within which the log still counts as scrolled to the end.
  expect(await page.getByRole('log').evaluate((log) => log.scrollHeight - log.clientHeight)).toBeGreaterThan(60);
  expect(await atBottom()).toBe(true);

  // Scrolled up, the log stays where the reader is while lines arrive; "Jump to latest" brings it back.
  await page.getByRole('log').evaluate((log) => log.scrollTo({ top: 0 }));
  const jump = page.getByRole('button', { name: 'Jump to latest' });
  await jump.waitFor();
  await upload();
  expect(await page.getByRole('log').evaluate((log) => log.scrollTop)).toBe(0);
  await jump.click();
  expect(await atBottom()).toBe(true);
  expect(await jump.isHidden()).toBe(true);
  await page.setViewportSize({ width: 1280, height: 720 });
});

test('reconnects to a restarted server, keeping the transcript and the audio of the gap', async () => {
  await page.getByRole('button', { name: 'Clear' }).click();
  // Keyboard operable: the button takes Enter.
  await page.getByRole('button', { name: 'Start microphone' }).press('Enter');
  await waitForText(page, '#connection', /You: live/);
  await waitForFinals(page, 1);
  const first = await page.getByRole('log').locator('.line .text').first().textContent();
  const port = main!.server.port;
  await stopServer(main);
  main = undefined;
  await waitForText(page, '#connection', /You: .*reconnecting in/);
  await waitForText(page, '#server', /unreachable/);
  const runtime = await testRuntime(PANEL_SERVER);
  main = { server: await startServer({ runtime, host: '127.0.0.1', port }), runtime };
  await waitForText(page, '#connection', /You: live/, 120000);
  await waitForText(page, '#server', /Ready/);
  await speakAndStop(page);
  expect(await page.getByRole('log').locator('.line .text').first().textContent()).toBe(first);
  // The audio of the gap was kept and sent to the new server, not dropped.
  expect(await page.locator('#dropped').textContent()).toBe('0.0 s');
  const text = await logText(page, 'You');
  expect(heard(REFERENCE, text)).toBeLessThan(RECOGNIZABLE_WER);
});

test('asks for the API key a server requires, then streams the microphone and system audio in two lanes', async () => {
  const p = await context.newPage();
  await p.goto(keyed!.server.url + '/');
  const dialog = p.getByRole('dialog', { name: 'API key' });
  await dialog.waitFor();
  await dialog.getByLabel('API key').fill('not-the-key');
  await dialog.getByRole('button', { name: 'Connect' }).click();
  await waitForText(p, '#key-dialog .reason', /refused/);
  await dialog.getByLabel('API key').fill(API_KEY);
  await dialog.getByRole('button', { name: 'Connect' }).click();
  await waitForText(p, '#server', /Ready/);
  expect(await p.evaluate(() => sessionStorage.getItem('echopanel.apiKey'))).toBe(API_KEY);
  // The fake screen share carries the fake audio device too: both lanes hear the same speech.
  await p.getByRole('button', { name: 'Start microphone' }).click();
  await p.getByRole('button', { name: 'Share system audio' }).click();
  await waitForText(p, '#connection', /You: live; Others: live/);
  await speakAndStop(p);
  expect(heard(REFERENCE, await logText(p, 'You'))).toBeLessThan(RECOGNIZABLE_WER);
  expect(heard(REFERENCE, await logText(p, 'Others'))).toBeLessThan(RECOGNIZABLE_WER);
  await p.getByLabel('Format').selectOption('srt');
  const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Export' }).click()]);
  const cues = readFileSync(await download.path(), 'utf8').trim().split(/\n\n/);
  expect(cues.every((c) => /\n(You|Others): \S/.test(c))).toBe(true);
  await p.close();
});

test('reflows in a narrow window (320 CSS px, as 200 % zoom of 640 px) and follows the light/dark setting', async () => {
  const p = await context.newPage();
  await p.setViewportSize({ width: 320, height: 640 });
  const background = () => p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await p.emulateMedia({ colorScheme: 'light' });
  await p.goto(main!.server.url + '/');
  await waitForText(p, '#server', /Ready/);
  expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
  const light = await background();
  await p.emulateMedia({ colorScheme: 'dark' });
  expect(await background()).not.toBe(light);
  await p.close();
});

test('the transcripts, pooled, match what was said', () => {
  const { wer, referenceWords } = pool.pooled();
  expect(referenceWords).toBeGreaterThanOrEqual(40);
  process.stdout.write(heardLog.join('\n') + '\n');
  process.stdout.write(`panel pooled WER ${(wer * 100).toFixed(1)} % over ${referenceWords} words\n`);
  // Measured 14.5-17.2 % over 250 words in 5 runs (tiny.en on espeak-ng's voice; the upload alone is as high): 2x margin.
  expect(wer).toBeLessThan(0.35);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
