import { DEFAULT_IMPORT_MAP, importMapInUse } from './import-map.js';

const map = { ...DEFAULT_IMPORT_MAP, 'acme-echo': '@acme/echo' };
const config = (asr: { provider: string; fallback?: string; segmentation?: string }, vad: { provider?: string; enabled: boolean }) => ({
  asr: { segmentation: 'vad', ...asr },
  vad: { provider: 'silero', ...vad },
});

describe('importMapInUse', () => {
  it('is the configured provider, its fallback and the VAD while VAD segmentation is on', () => {
    expect(Object.keys(importMapInUse(config({ provider: 'whisper-cpp', fallback: 'faster-whisper' }, { enabled: true }), map))).toEqual([
      'faster-whisper',
      'whisper-cpp',
      'silero',
    ]);
    expect(Object.keys(importMapInUse(config({ provider: 'acme-echo' }, { enabled: false }), map))).toEqual(['acme-echo']);
    expect(Object.keys(importMapInUse(config({ provider: 'acme-echo', segmentation: 'fixed' }, { enabled: true }), map))).toEqual(['acme-echo']);
  });

  it('is every provider candidate for auto, and the VAD only while it is used', () => {
    expect(Object.keys(importMapInUse(config({ provider: 'auto' }, { enabled: true }), map))).toEqual(Object.keys(map));
    expect(Object.keys(importMapInUse(config({ provider: 'auto' }, { enabled: false }), map))).toEqual(['faster-whisper', 'whisper-cpp', 'voxtral', 'acme-echo']);
  });

  it('keeps a configured name the map does not have out (the host reports it as PROVIDER_NOT_FOUND)', () => {
    expect(importMapInUse(config({ provider: 'nope' }, { enabled: false }), map)).toEqual({});
  });
});
