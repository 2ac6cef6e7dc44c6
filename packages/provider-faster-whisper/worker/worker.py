"""EchoPanel faster-whisper worker: one resident process, one model, requests answered in order.

Protocol (designed for @echopanel/provider-faster-whisper; keep both sides in step):

host -> worker (stdin), binary frames:
    uint32 little-endian  header length H
    H bytes               header, UTF-8 JSON: {"op": ..., "id": int, "bytes": int, ...}
    header["bytes"] bytes payload (0 when absent)

    op "transcribe": payload is mono PCM at 16 kHz, header["format"] "s16le" (default) or "f32le";
                     options: beamSize, language, vadFilter, wordTimestamps, prompt, conditionOnPreviousText,
                     encoderSeconds (the encoder window, whole seconds; absent = whisper's 30 s)
    op "ping":       answered with {"type": "pong"}
    op "shutdown":   answered with {"type": "bye"}, then the worker exits 0

worker -> host (the original stdout), one JSON object per line:
    {"type": "ready", "pid", "loadMs", "model": {...}, "device", "computeType", "cpuThreads", "notices", "versions"}
    {"type": "fatal", "code", "message"}                       load failed; the worker exits 1 after it
    {"type": "result", "id", "segments", "language", "languageProbability", "audioSeconds", "inferMs"}
    {"type": "error", "id", "code", "message"}                 this request failed; the worker lives on
    {"type": "pong" | "bye", "id"}

Everything else the process prints (libraries, warnings, tracebacks) goes to stderr, which the host logs:
the protocol stream is a private duplicate of fd 1, and fd 1 itself is pointed at stderr before anything is
imported, so a stray print() can never corrupt a frame.

`worker.py --probe` prints one JSON line about the environment (faster_whisper importable?, versions, CUDA
devices) and exits; the host uses it for availability().
"""

import argparse
import contextlib
import json
import os
import re
import struct
import sys
import threading
import time


class DeviceError(RuntimeError):
    pass


def _protocol_stream():
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    return os.fdopen(proto_fd, "wb", buffering=0)


def log(level, message):
    sys.stderr.write(f"{level} {message}\n")
    sys.stderr.flush()


class Channel:
    def __init__(self, out, inp):
        self.out = out
        self.inp = inp

    def send(self, message):
        self.out.write((json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8"))

    def _read_exact(self, n):
        chunks = []
        remaining = n
        while remaining > 0:
            chunk = self.inp.read(remaining)
            if not chunk:
                return None
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        """The next (header, payload), or None at end of input (the host went away)."""
        raw_len = self._read_exact(4)
        if raw_len is None:
            return None
        (header_len,) = struct.unpack("<I", raw_len)
        raw_header = self._read_exact(header_len)
        if raw_header is None:
            return None
        header = json.loads(raw_header.decode("utf-8"))
        size = int(header.get("bytes", 0))
        payload = self._read_exact(size) if size > 0 else b""
        if payload is None:
            return None
        return header, payload


def probe():
    info = {"python": sys.version.split()[0], "executable": sys.executable}
    try:
        import faster_whisper  # noqa: F401
        import ctranslate2

        info["fasterWhisper"] = getattr(faster_whisper, "__version__", "unknown")
        info["ctranslate2"] = ctranslate2.__version__
        try:
            info["cudaDevices"] = ctranslate2.get_cuda_device_count()
        except Exception:  # CUDA runtime missing: not an error for CPU use
            info["cudaDevices"] = 0
        info["ok"] = True
    except Exception as exc:  # ImportError, or a broken native library under it
        info["ok"] = False
        info["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(info), flush=True)


def plan_device(device, compute_type, cuda_devices):
    """Seed rules: mps/metal are not CTranslate2 devices (cpu); float16 variants do not run on cpu (int8)."""
    notices = []
    if device in ("mps", "metal"):
        notices.append(f"device '{device}' is not supported by CTranslate2; using cpu")
        device = "cpu"
    if device == "auto":
        device = "cuda" if cuda_devices > 0 else "cpu"
    if device == "cpu" and "float16" in compute_type:
        notices.append(f"compute type '{compute_type}' is not supported on cpu; using int8")
        compute_type = "int8"
    return device, compute_type, notices


def model_size_bytes(path):
    total = 0
    for name in os.listdir(path):
        full = os.path.join(path, name)
        if os.path.isfile(full):
            total += os.path.getsize(full)
    return total


def to_float32(payload, fmt):
    import numpy as np

    if fmt == "f32le":
        if len(payload) % 4:
            raise ValueError(f"f32le payload of {len(payload)} bytes is not a whole number of samples")
        return np.frombuffer(payload, dtype="<f4").astype(np.float32, copy=True)
    if len(payload) % 2:
        raise ValueError(f"s16le payload of {len(payload)} bytes is not a whole number of samples")
    return np.frombuffer(payload, dtype="<i2").astype(np.float32) / 32768.0


@contextlib.contextmanager
def encoder_window(seconds):
    """Runs the encoder on `seconds` of features instead of 30 (CTranslate2 takes any length up to 30 s).

    faster-whisper pads every window's features to 30 s with `pad_or_trim` before encoding; a few seconds of
    speech then pay for 30 s of encoder. The host asks for a shorter window only for audio that fits in it.
    """
    import faster_whisper.transcribe as fwt

    frames = int(seconds) * 100 if seconds else 0
    original = getattr(fwt, "pad_or_trim", None)
    if not (0 < frames < 3000) or original is None:
        yield
        return
    fwt.pad_or_trim = lambda array, length=3000, axis=-1: original(array, length=min(length, frames), axis=axis)
    try:
        yield
    finally:
        fwt.pad_or_trim = original


def transcribe(model, header, payload):
    audio = to_float32(payload, header.get("format", "s16le"))
    if audio.size == 0:
        return {"segments": [], "language": header.get("language"), "languageProbability": None, "audioSeconds": 0.0}
    word_timestamps = bool(header.get("wordTimestamps", False))
    segments, info = model.transcribe(
        audio,
        beam_size=int(header.get("beamSize", 1)),
        language=header.get("language") or None,
        vad_filter=bool(header.get("vadFilter", False)),
        word_timestamps=word_timestamps,
        initial_prompt=header.get("prompt") or None,
        condition_on_previous_text=bool(header.get("conditionOnPreviousText", False)),
    )
    out = []
    with encoder_window(header.get("encoderSeconds")):
        segments = list(segments)  # decoding happens while iterating
    for seg in segments:
        item = {
            "start": round(float(seg.start), 3),
            "end": round(float(seg.end), 3),
            "text": seg.text,
            "avg_logprob": float(seg.avg_logprob),
            "no_speech_prob": float(seg.no_speech_prob),
            "compression_ratio": float(seg.compression_ratio),
        }
        if word_timestamps and seg.words:
            item["words"] = [
                {"word": w.word, "start": round(float(w.start), 3), "end": round(float(w.end), 3), "probability": float(w.probability)}
                for w in seg.words
            ]
        out.append(item)
    return {
        "segments": out,
        "language": info.language,
        "languageProbability": float(info.language_probability) if info.language_probability is not None else None,
        "audioSeconds": round(audio.size / 16000.0, 6),
    }


def watch_parent():
    """Exit when the host is gone even if the main thread is stuck in native code (stdin EOF covers the rest)."""
    parent = os.getppid()

    def run():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                log("WARNING", "host process is gone; exiting")
                os._exit(0)

    threading.Thread(target=run, name="parent-watch", daemon=True).start()


def serve(args):
    watch_parent()
    channel = Channel(_protocol_stream(), sys.stdin.buffer)
    started = time.perf_counter()
    try:
        import ctranslate2
        import faster_whisper
        from faster_whisper import WhisperModel

        try:
            cuda_devices = ctranslate2.get_cuda_device_count()
        except Exception:
            cuda_devices = 0
        device, compute_type, notices = plan_device(args.device, args.compute_type, cuda_devices)
        if device == "cuda" and cuda_devices == 0:
            raise DeviceError("device 'cuda' was requested but CTranslate2 sees no CUDA device; use device 'auto' or 'cpu'")
        log("INFO", f"loading {args.model} device={device} compute_type={compute_type} cpu_threads={args.cpu_threads}")
        model = WhisperModel(
            args.model,
            device=device,
            compute_type=compute_type,
            cpu_threads=args.cpu_threads,
            local_files_only=True,
        )
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        # CTranslate2 raises RuntimeError/ValueError for unreadable weights and for device problems alike.
        environment = isinstance(exc, (ImportError, DeviceError)) or re.search(r"cuda|device|compute type", str(exc), re.I)
        code = "WORKER_START_FAILED" if environment else "MODEL_CORRUPT"
        log("ERROR", f"model load failed: {message}")
        channel.send({"type": "fatal", "code": code, "message": message})
        return 1
    load_ms = (time.perf_counter() - started) * 1000.0
    channel.send(
        {
            "type": "ready",
            "pid": os.getpid(),
            "loadMs": round(load_ms, 1),
            "model": {
                "path": os.path.realpath(args.model),
                "sha256": args.sha256 or None,
                "sizeBytes": model_size_bytes(args.model) if os.path.isdir(args.model) else None,
                "multilingual": bool(model.model.is_multilingual),
            },
            "device": device,
            "computeType": compute_type,
            "cpuThreads": args.cpu_threads,
            "notices": notices,
            "versions": {
                "python": sys.version.split()[0],
                "fasterWhisper": getattr(faster_whisper, "__version__", "unknown"),
                "ctranslate2": ctranslate2.__version__,
            },
        }
    )
    while True:
        frame = channel.receive()
        if frame is None:
            log("INFO", "input closed; exiting")
            return 0
        header, payload = frame
        op = header.get("op")
        rid = header.get("id")
        if op == "shutdown":
            channel.send({"type": "bye", "id": rid})
            return 0
        if op == "ping":
            channel.send({"type": "pong", "id": rid})
            continue
        if op != "transcribe":
            channel.send({"type": "error", "id": rid, "code": "INVALID_STATE", "message": f"unknown op {op!r}"})
            continue
        t0 = time.perf_counter()
        try:
            result = transcribe(model, header, payload)
        except ValueError as exc:
            channel.send({"type": "error", "id": rid, "code": "INVALID_AUDIO", "message": str(exc)})
            continue
        except Exception as exc:
            log("ERROR", f"request {rid} failed: {type(exc).__name__}: {exc}")
            channel.send({"type": "error", "id": rid, "code": "INFERENCE_FAILED", "message": f"{type(exc).__name__}: {exc}"})
            continue
        result.update({"type": "result", "id": rid, "inferMs": round((time.perf_counter() - t0) * 1000.0, 3)})
        channel.send(result)


def main():
    parser = argparse.ArgumentParser(description="EchoPanel faster-whisper worker")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--sha256", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compute-type", default="default")
    parser.add_argument("--cpu-threads", type=int, default=0)
    args = parser.parse_args()
    if args.probe:
        probe()
        return 0
    if not args.model:
        parser.error("--model is required")
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
