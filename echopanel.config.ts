import { defineConfig } from '@echopanel/core';

// The repository's own config: the embedded default (faster-whisper on the bundled tiny.en), whisper.cpp as
// failover on the same weights converted to ggml, Silero VAD segmentation.
export default defineConfig({
  server: { host: '127.0.0.1', port: 8080 },
  asr: { provider: 'auto', fallback: 'whisper-cpp', language: 'en', chunkSeconds: 2 },
  vad: { provider: 'silero', enabled: true },
  providers: {
    'faster-whisper': { model: 'tiny.en' },
    'whisper-cpp': { model: 'tiny.en' },
  },
});
