import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AUDIO_FORMATS, encodeAudioFixture, fixtureDir, fixtureFile, randomBytes, synthesizeSpeech, truncatedCopy, videoWithoutAudio } from '@echopanel/plugin-testkit';
import { decodeAudioFile, probeAudioFile } from './audio-decoder.js';
import { encodeWav } from '@echopanel/plugin-api';

// Decoding with the real FFmpeg. Transcripts per format are compared on a real server (apps/server
// audio-upload.test.ts); here: what comes out, what is refused, and that nothing is left behind.
const speech = synthesizeSpeech('Decoding every container to sixteen kilohertz mono.');
const wav = fixtureFile('decoder-speech-16k.wav', encodeWav(speech.samples, 16000));

function decodeTmpDirs(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith('echopanel-decode-'));
}

describe('decodeAudioFile', () => {
  it.each(AUDIO_FORMATS.map((f) => [f.name, f] as const))('%s: 16 kHz mono of the same duration', async (_name, format) => {
    const file = encodeAudioFixture(wav, format);
    const rec = await decodeAudioFile(file);
    try {
      expect(rec.sampleRate).toBe(16000);
      // Codec priming and padding add at most a few tens of ms.
      expect(Math.abs(rec.length - speech.samples.length)).toBeLessThan(0.1 * 16000);
      expect(rec.source.channels).toBe(format.args.includes('pan=stereo|c0=c0|c1=c0') ? 2 : format.name.includes('4 ch') ? 4 : 1);
      const pcm = await rec.read(0, rec.length);
      expect(pcm.length).toBe(rec.length);
      let peak = 0;
      for (const v of pcm) peak = Math.max(peak, Math.abs(v));
      expect(peak).toBeGreaterThan(3000);
    } finally {
      await rec.dispose();
    }
  });

  it('a 16 kHz s16 WAV comes out sample for sample; read() takes ranges and clamps', async () => {
    const rec = await decodeAudioFile(wav);
    try {
      expect(rec.length).toBe(speech.samples.length);
      expect(Array.from(await rec.read(1000, 1100))).toEqual(Array.from(speech.samples.subarray(1000, 1100)));
      expect((await rec.read(rec.length - 10, rec.length + 100)).length).toBe(10);
      expect((await rec.read(-5, 0)).length).toBe(0);
    } finally {
      await rec.dispose();
    }
  });

  it('names what it found: no audio track, not audio, a cut-short file', async () => {
    await expect(decodeAudioFile(videoWithoutAudio())).rejects.toMatchObject({ code: 'UNSUPPORTED_AUDIO_FORMAT', message: expect.stringContaining('no audio track') });
    await expect(decodeAudioFile(fixtureFile('decoder-random.mp3', randomBytes(5000, 7)))).rejects.toMatchObject({ code: 'UNSUPPORTED_AUDIO_FORMAT' });
    // A WAV whose codec tag FFmpeg has no decoder for.
    const odd = Buffer.from(readFileSync(wav));
    odd.writeUInt16LE(0x1234, 20);
    await expect(decodeAudioFile(fixtureFile('decoder-odd-codec.wav', odd))).rejects.toMatchObject({ code: 'UNSUPPORTED_AUDIO_FORMAT', message: expect.stringContaining('cannot decode') });
    const mp3 = encodeAudioFixture(wav, AUDIO_FORMATS[0]);
    await expect(decodeAudioFile(fixtureFile('decoder-cut.mp3', truncatedCopy(mp3, 0.3)))).rejects.toMatchObject({ code: 'INVALID_AUDIO', message: expect.stringContaining('cut short') });
  });

  it('refuses playlists and other formats that would open further files', async () => {
    const playlist = fixtureFile('decoder-playlist.m3u8', Buffer.from('#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:10.0,\nfile:///etc/hostname\n#EXT-X-ENDLIST\n'));
    await expect(probeAudioFile(playlist)).rejects.toMatchObject({ code: 'UNSUPPORTED_AUDIO_FORMAT', message: expect.stringContaining('hls') });
  });

  it('stops at maxSeconds, by the declared duration or while decoding when none is declared', async () => {
    await expect(decodeAudioFile(wav, { maxSeconds: 1 })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('maxUploadSeconds allows 1.0 s') });
    const source = { ...(await probeAudioFile(wav)), declaredSeconds: undefined };
    await expect(decodeAudioFile(wav, { maxSeconds: 1, source })).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('more than 1.0 s') });
  });

  it('an abort kills FFmpeg; nothing is left in the temp dir, whatever the outcome', async () => {
    const tmp = path.join(fixtureDir(), 'decoder-tmp');
    mkdirSync(tmp, { recursive: true });
    const ac = new AbortController();
    ac.abort();
    await expect(decodeAudioFile(wav, { signal: ac.signal, tmpDir: tmp })).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(decodeAudioFile(videoWithoutAudio(), { tmpDir: tmp })).rejects.toMatchObject({ code: 'UNSUPPORTED_AUDIO_FORMAT' });
    const rec = await decodeAudioFile(wav, { tmpDir: tmp });
    expect(decodeTmpDirs(tmp)).toHaveLength(1);
    await rec.dispose();
    expect(decodeTmpDirs(tmp)).toHaveLength(0);
  });

  it('a missing FFmpeg is DECODER_UNAVAILABLE with how to install it', async () => {
    const before = process.env.ECHOPANEL_FFMPEG;
    process.env.ECHOPANEL_FFMPEG = '/nonexistent/ffmpeg';
    try {
      await expect(decodeAudioFile(wav)).rejects.toMatchObject({ code: 'DECODER_UNAVAILABLE', message: expect.stringContaining('apt-get install ffmpeg') });
    } finally {
      if (before === undefined) delete process.env.ECHOPANEL_FFMPEG;
      else process.env.ECHOPANEL_FFMPEG = before;
    }
  });
});
