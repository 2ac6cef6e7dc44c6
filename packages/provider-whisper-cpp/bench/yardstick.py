"""Yardstick for the whisper-cpp benchmark: the same chunks through pywhispercpp's prebuilt whisper.cpp.

usage: python yardstick.py <ggml model> <wav 16 kHz mono s16> <chunk seconds> <threads> <beam> [repeats]
Prints one JSON line: per-inference ms and audio seconds. Chunking mirrors core's transcribeInChunks: full
chunks plus a final tail of at least 0.5 s, chunks with RMS < 0.01 skipped.
"""
import json, sys, time, wave
import numpy as np
from pywhispercpp.model import Model

model_path, wav_path, chunk, threads, beam = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
with wave.open(wav_path) as w:
    pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
params = dict(n_threads=threads, language='en', no_context=True, print_progress=False, print_realtime=False,
              suppress_blank=True, redirect_whispercpp_logs_to=None)
if beam > 1:
    model = Model(model_path, params_sampling_strategy=1, beam_search={'beam_size': beam, 'patience': -1.0}, **params)
else:
    model = Model(model_path, **params)
size = max(1, round(chunk * 16000))
chunks = []
for i in range(0, len(pcm), size):
    c = pcm[i:i + size]
    if len(c) < size and len(c) < 0.5 * 16000:
        continue
    if np.sqrt(np.mean(c * c)) < 0.01:
        continue
    chunks.append(c)
times, audio, text = [], 0.0, []
for r in range(repeats):
    for c in chunks:
        t0 = time.perf_counter()
        segs = model.transcribe(c)
        times.append((time.perf_counter() - t0) * 1000)
        audio += len(c) / 16000
        if r == 0:
            text.append(''.join(s.text for s in segs).strip())
print(json.dumps({'inferMs': times, 'audioSeconds': audio, 'text': ' '.join(text)}))
