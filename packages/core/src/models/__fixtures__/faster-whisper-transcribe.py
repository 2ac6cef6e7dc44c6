# Test fixture: transcribes WAV files with faster-whisper (greedy, like whisper.cpp's default) and prints JSON.
import json
import sys

from faster_whisper import WhisperModel

model = WhisperModel(sys.argv[1], device="cpu", compute_type="float32", cpu_threads=2)
out = []
for wav in sys.argv[2:]:
    segments, _ = model.transcribe(wav, language="en", beam_size=1, temperature=0.0, vad_filter=False)
    out.append("".join(s.text for s in segments).strip())
print(json.dumps(out))
