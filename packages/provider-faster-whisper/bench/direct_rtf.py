"""The engine floor for bench/rtf.mjs: faster-whisper called directly, in-process, on the same audio.

Loads the model once, prints {"ready": ...}, then for every line "run <beam>" on stdin transcribes the WAV
(s16 mono 16 kHz) and prints {"ms": <wall time of transcribe + consuming its segments>, "text": ...}.
"""

import json
import sys
import time
import wave

import numpy as np
from faster_whisper import WhisperModel


def main():
    model_path, wav_path, compute_type, cpu_threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with wave.open(wav_path) as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise SystemExit(f"{wav_path}: need 16 kHz mono s16")
        audio = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    model = WhisperModel(model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, local_files_only=True)
    print(json.dumps({"ready": True, "seconds": audio.size / 16000}), flush=True)
    for line in sys.stdin:
        beam = int(line.split()[1])
        t0 = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=beam, condition_on_previous_text=False)
        text = " ".join(s.text.strip() for s in segments)
        ms = (time.perf_counter() - t0) * 1000.0
        print(json.dumps({"ms": ms, "text": text}), flush=True)


if __name__ == "__main__":
    main()
