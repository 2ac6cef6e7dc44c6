"""The accuracy floor for bench/eval.mjs: faster-whisper called as a user would call it on a file.

usage: faster_whisper_floor.py <ct2 model dir> <compute type> <cpu threads> <beam>
Loads the model once, then for every WAV path on stdin prints {"text": ...} with the engine's own long-form
decoding (`WhisperModel.transcribe(path, language="en", beam_size=beam)`, every other option at its default).
"""

import json
import sys

from faster_whisper import WhisperModel


def main():
    model_path, compute_type, cpu_threads, beam = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    model = WhisperModel(model_path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads, local_files_only=True)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        wav = line.strip()
        if not wav:
            continue
        segments, _ = model.transcribe(wav, language="en", beam_size=beam)
        print(json.dumps({"text": " ".join(s.text.strip() for s in segments)}), flush=True)


if __name__ == "__main__":
    main()
