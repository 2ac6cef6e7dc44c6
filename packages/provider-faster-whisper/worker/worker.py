"""EchoPanel faster-whisper worker: one resident process, one model; requests answered in order, or with
--parallel N up to N decoded at the same time (each answer carries its request's id).

Protocol (designed for @echopanel/provider-faster-whisper; keep both sides in step):

host -> worker (stdin), binary frames:
    uint32 little-endian  header length H
    H bytes               header, UTF-8 JSON: {"op": ..., "id": int, "bytes": int, ...}
    header["bytes"] bytes payload (0 when absent)

    op "transcribe": payload is mono PCM at 16 kHz, header["format"] "s16le" (default) or "f32le";
                     options: beamSize, language, vadFilter, wordTimestamps, prompt, conditionOnPreviousText,
                     encoderSeconds (the encoder window, whole seconds; absent = whisper's 30 s), draft (decode once
                     at temperature 0, length bounded by the audio's)
    op "transcribe_batch": several independent utterances in one request (see transcribe_batch): the payload is
                     the items' PCM one after another; header["items"] lists per item {"bytes", and its own
                     language, wordTimestamps, prompt, encoderSeconds}; beamSize, vadFilter, draft and format are
                     the header's, for all items
    op "ping":       answered with {"type": "pong"}
    op "shutdown":   answered with {"type": "bye"}, then the worker exits 0

worker -> host (the original stdout), one JSON object per line:
    {"type": "ready", "pid", "loadMs", "model": {...}, "device", "computeType", "cpuThreads", "notices", "versions"}
    {"type": "fatal", "code", "message"}                       load failed; the worker exits 1 after it
    {"type": "result", "id", "segments", "language", "languageProbability", "audioSeconds", "inferMs"}
    {"type": "result_batch", "id", "items", "inferMs"}         items in request order, each a result's fields
                                                               + "batchSize" (1: decoded alone), or
                                                               {"error": {"code", "message"}} for that item alone
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
from concurrent.futures import ThreadPoolExecutor
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
        # Requests decoded in parallel answer from their own threads; one line at a time.
        self.lock = threading.Lock()

    def send(self, message):
        line = (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")
        with self.lock:
            self.out.write(line)

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


WHISPER_FRAMES = 3000  # whisper's 30 s window in feature frames (100 per second)


def encoder_frames(seconds):
    """Feature frames the encoder runs on for an `encoderSeconds` option (absent or >= 30 s: the full window)."""
    frames = int(seconds) * 100 if seconds else 0
    return frames if 0 < frames < WHISPER_FRAMES else WHISPER_FRAMES


_window = threading.local()


def install_encoder_window():
    """Lets each request run the encoder on its own window instead of 30 s (CTranslate2 takes any length up to 30 s).

    faster-whisper pads every window's features to 30 s with `pad_or_trim` before encoding; a few seconds of
    speech then pay for 30 s of encoder. The window is per thread, so requests decoded in parallel keep theirs.
    """
    import faster_whisper.transcribe as fwt

    original = getattr(fwt, "pad_or_trim", None)
    if original is None:
        return

    def pad_or_trim(array, length=WHISPER_FRAMES, axis=-1):
        return original(array, length=min(length, getattr(_window, "frames", WHISPER_FRAMES)), axis=axis)

    fwt.pad_or_trim = pad_or_trim


@contextlib.contextmanager
def encoder_window(seconds):
    """Runs this thread's encoder on `seconds` of features (see install_encoder_window); the host asks for a
    shorter window only for audio that fits in it."""
    _window.frames = encoder_frames(seconds)
    try:
        yield
    finally:
        _window.frames = WHISPER_FRAMES


def transcribe(model, header, audio):
    if audio.size == 0:
        return {"segments": [], "language": header.get("language"), "languageProbability": None, "audioSeconds": 0.0}
    word_timestamps = bool(header.get("wordTimestamps", False))
    # A draft (a partial its final replaces) is decoded once: no temperature fallback (which multiplied a draft's
    # cost 3x on real speech), and a repetition loop stops at a length no real speech of that duration reaches.
    draft = {"temperature": 0.0, "max_new_tokens": draft_token_limit(audio)} if header.get("draft") else {}
    segments, info = model.transcribe(
        audio,
        **draft,
        beam_size=int(header.get("beamSize", 1)),
        language=header.get("language") or None,
        vad_filter=bool(header.get("vadFilter", False)),
        word_timestamps=word_timestamps,
        initial_prompt=header.get("prompt") or None,
        condition_on_previous_text=bool(header.get("conditionOnPreviousText", False)),
    )
    with encoder_window(header.get("encoderSeconds")):
        segments = list(segments)  # decoding happens while iterating
    return result_message(segments, word_timestamps, info.language, info.language_probability, audio.size)


def draft_token_limit(audio):
    """New tokens a draft may generate: speech has a few per second of audio; 10 per second, plus 10, are allowed."""
    return int(audio.size / 16000.0 * 10) + 10


def result_message(segments, word_timestamps, language, language_probability, samples):
    """A result's fields from faster-whisper's Segment objects (the single and the batched path alike)."""
    out = []
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
        "language": language,
        "languageProbability": float(language_probability) if language_probability is not None else None,
        "audioSeconds": round(samples / 16000.0, 6),
    }


def transcribe_batch(model, header, payload):
    """The `transcribe_batch` op: one result (or per-item error) per item, in order; each as `transcribe` gives it.

    Items are grouped by encoder window and word timestamps, so that each item's encoder input is exactly the one
    `transcribe` builds for it alone; a group is one temperature-0 `generate` over the items' encoder outputs
    (per-item prompts), then faster-whisper's own segment split and word alignment. An item whose temperature-0 result would
    make `transcribe` go on -- a temperature fallback (compression ratio / log probability thresholds) or a second
    window (decoding stopped before the audio's end) -- is decoded again alone through `transcribe`, as are items
    a group cannot take (alone in their group, VAD filter, language detection, more than one window).
    """
    specs = header.get("items")
    if not isinstance(specs, list) or not specs:
        raise ValueError("transcribe_batch needs a non-empty 'items' list")
    sizes = [int(spec.get("bytes", -1)) for spec in specs]
    if min(sizes) < 0 or sum(sizes) != len(payload):
        raise ValueError(f"item byte lengths {sizes} do not add up to the payload's {len(payload)} bytes")
    shared = {k: v for k, v in header.items() if k not in ("items", "id", "op", "bytes")}
    opts = transcribe_defaults()
    if shared.get("draft"):
        # Drafts take their temperature-0 result as it is (see transcribe): no thresholds send them to a fallback.
        opts = {**opts, "compression_ratio_threshold": None, "log_prob_threshold": None}
    results = [None] * len(specs)
    requests = []
    groups = {}
    offset = 0
    for i, (spec, size) in enumerate(zip(specs, sizes)):
        item_header = {**shared, **spec}
        try:
            audio = to_float32(payload[offset : offset + size], item_header.get("format", "s16le"))
        except ValueError as exc:
            results[i] = {"error": {"code": "INVALID_AUDIO", "message": f"item {i}: {exc}"}}
            continue
        finally:
            offset += size
        requests.append((i, item_header, audio))
        planned = batch_plan(model, item_header, audio, opts)
        if planned is not None:
            key, plan = planned
            groups.setdefault(key, []).append((i, item_header, audio, plan))
    for (frames, word_timestamps, _), members in groups.items():
        if len(members) < 2:
            continue
        for (i, *_), result in zip(members, decode_group(model, members, frames, word_timestamps, opts)):
            if result is not None:
                results[i] = {**result, "batchSize": len(members)}
    for i, item_header, audio in requests:
        if results[i] is None:
            results[i] = {**transcribe(model, item_header, audio), "batchSize": 1}
    return {"items": results}


def batch_plan(model, header, audio, opts):
    """(group key, {features, tokenizer, prompt}) for an item a group can decode, else None (decoded alone).

    Key: encoder frames, word timestamps, and where the prompt's start-of-transcript token is (CTranslate2's
    batched `generate` needs it at the same position in every item; padding a prompt would change the result).
    """
    from faster_whisper.tokenizer import Tokenizer

    language_known = not model.model.is_multilingual or header.get("language")
    word_timestamps = bool(header.get("wordTimestamps", False))
    if audio.size == 0 or header.get("vadFilter") or not language_known:
        return None
    # Word alignment needs the item's own encoder output, which the group keeps on the host only on CPU.
    if word_timestamps and model.model.device != "cpu":
        return None
    frames = encoder_frames(header.get("encoderSeconds"))
    features = model.feature_extractor(audio)
    # generate_segments' content frames: more than the window means a second window.
    if features.shape[-1] - 1 > frames:
        return None
    multilingual = model.model.is_multilingual
    tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=header.get("language") if multilingual else "en")
    # generate_segments' first prompt: the initial prompt as previous text.
    text = header.get("prompt")
    previous = tokenizer.encode(" " + text.strip()) if text else []
    prompt = model.get_prompt(tokenizer, previous, without_timestamps=opts["without_timestamps"], prefix=opts["prefix"], hotwords=opts["hotwords"])
    limit = draft_token_limit(audio) if header.get("draft") else None
    plan = {"features": features, "tokenizer": tokenizer, "prompt": prompt, "max_new_tokens": limit}
    return (frames, word_timestamps, prompt.index(tokenizer.sot)), plan


def transcribe_defaults():
    """The decoding options `WhisperModel.transcribe` uses when the worker does not set them (its signature's)."""
    import inspect

    from faster_whisper import WhisperModel

    params = inspect.signature(WhisperModel.transcribe).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def decode_group(model, members, frames, word_timestamps, opts):
    """Decodes items of one encoder window together: per item a result, or None to decode it alone."""
    import ctranslate2
    import numpy as np
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.transcribe import Segment, Word, get_compression_ratio, get_suppressed_tokens
    from faster_whisper.utils import get_end

    temperatures = opts["temperature"] if isinstance(opts["temperature"], (list, tuple)) else [opts["temperature"]]
    if temperatures[0] != 0:
        return [None] * len(members)
    features = [plan["features"] for *_, plan in members]
    # The single path's first window: features[:, :segment_size] padded to the encoder window.
    sizes = [f.shape[-1] - 1 for f in features]
    windows = [pad_or_trim(f[:, :size], frames) for f, size in zip(features, sizes)]
    if model.model.device == "cpu":
        # On CPU CTranslate2 encodes a batch at ~1.5x the cost per item of encoding the items one by one (tiny.en,
        # 18-22 s windows, 1 and 2 threads); the decoder is what batching speeds up. Same encoder output either way.
        host_output = np.concatenate([np.asarray(model.encode(window)) for window in windows])
        encoder_output = ctranslate2.StorageView.from_array(host_output)
    else:
        host_output = None
        encoder_output = model.encode(np.stack(windows))
    tokenizers = [plan["tokenizer"] for *_, plan in members]
    prompts = [plan["prompt"] for *_, plan in members]
    limits = [plan["max_new_tokens"] for *_, plan in members]
    # Drafts: the longest item's limit (generate takes one); an item that reaches its own is decoded alone below.
    max_length = model.max_length if None in limits else min(model.max_length, max(len(p) + n for p, n in zip(prompts, limits)))
    suppress = opts["suppress_tokens"]
    suppress = get_suppressed_tokens(tokenizers[0], list(suppress)) if suppress else suppress
    generated = model.model.generate(
        encoder_output,
        prompts,
        beam_size=int(members[0][1].get("beamSize", 1)),
        patience=opts["patience"],
        length_penalty=opts["length_penalty"],
        repetition_penalty=opts["repetition_penalty"],
        no_repeat_ngram_size=opts["no_repeat_ngram_size"],
        max_length=max_length,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=opts["suppress_blank"],
        suppress_tokens=suppress,
        max_initial_timestamp_index=int(round(opts["max_initial_timestamp"] / model.time_precision)),
    )
    cr_max, logprob_min, no_speech_max = opts["compression_ratio_threshold"], opts["log_prob_threshold"], opts["no_speech_threshold"]
    out = []
    for k, (result, tokenizer, size, limit, (_, _, audio, _)) in enumerate(zip(generated, tokenizers, sizes, limits, members)):
        tokens = result.sequences_ids[0]
        if limit is not None and len(tokens) >= limit:
            out.append(None)
            continue
        avg_logprob = result.scores[0] * (len(tokens) ** opts["length_penalty"]) / (len(tokens) + 1)
        compression_ratio = get_compression_ratio(tokenizer.decode(tokens).strip())
        # generate_with_fallback's test for trying the next temperature.
        needs_fallback = (cr_max is not None and compression_ratio > cr_max) or (logprob_min is not None and avg_logprob < logprob_min)
        silence = no_speech_max is not None and result.no_speech_prob > no_speech_max
        if needs_fallback and not (silence and logprob_min is not None and avg_logprob < logprob_min):
            out.append(None)
            continue
        segments = []
        # generate_segments' no-speech skip (the window yields nothing) unless the log probability is high enough.
        if not (silence and not (logprob_min is not None and avg_logprob > logprob_min)):
            current, seek, single_timestamp_ending = model._split_segments_by_timestamps(
                tokenizer=tokenizer,
                tokens=tokens,
                time_offset=0.0,
                segment_size=size,
                segment_duration=size * model.feature_extractor.time_per_frame,
                seek=0,
            )
            if word_timestamps:
                item_output = np.ascontiguousarray(host_output[k : k + 1])
                model.add_word_timestamps(
                    [current],
                    tokenizer,
                    ctranslate2.StorageView.from_array(item_output),
                    size,
                    opts["prepend_punctuations"],
                    opts["append_punctuations"],
                    last_speech_timestamp=0.0,
                )
                last_word_end = get_end(current)
                if not single_timestamp_ending and last_word_end is not None and last_word_end > 0:
                    seek = round(last_word_end * model.frames_per_second)
            if seek < size:
                out.append(None)
                continue
            for seg in current:
                text = tokenizer.decode(seg["tokens"])
                if seg["start"] == seg["end"] or not text.strip():
                    continue
                words = [Word(**w) for w in seg["words"]] if word_timestamps else None
                segments.append(
                    Segment(
                        id=len(segments) + 1,
                        seek=0,
                        start=seg["start"],
                        end=seg["end"],
                        text=text,
                        tokens=seg["tokens"],
                        avg_logprob=avg_logprob,
                        compression_ratio=compression_ratio,
                        no_speech_prob=result.no_speech_prob,
                        words=words,
                        temperature=0.0,
                    )
                )
        out.append(result_message(segments, word_timestamps, tokenizer.language_code, 1, audio.size))
    return out


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
        log("INFO", f"loading {args.model} device={device} compute_type={compute_type} cpu_threads={args.cpu_threads} parallel={args.parallel}")
        model = WhisperModel(
            args.model,
            device=device,
            compute_type=compute_type,
            cpu_threads=args.cpu_threads,
            # One CTranslate2 replica per request decoded at the same time (they release the GIL while they run).
            num_workers=args.parallel,
            local_files_only=True,
        )
        install_encoder_window()
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
            "parallel": args.parallel,
            "notices": notices,
            "versions": {
                "python": sys.version.split()[0],
                "fasterWhisper": getattr(faster_whisper, "__version__", "unknown"),
                "ctranslate2": ctranslate2.__version__,
            },
        }
    )
    pool = ThreadPoolExecutor(args.parallel, thread_name_prefix="decode") if args.parallel > 1 else None
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
        if op not in ("transcribe", "transcribe_batch"):
            channel.send({"type": "error", "id": rid, "code": "INVALID_STATE", "message": f"unknown op {op!r}"})
            continue
        if pool is None:
            answer(channel, model, header, payload)
        else:
            pool.submit(answer, channel, model, header, payload)


def answer(channel, model, header, payload):
    """Decodes one request and sends its result or error (on the reading thread, or a pool thread in parallel)."""
    op = header.get("op")
    rid = header.get("id")
    t0 = time.perf_counter()
    try:
        if op == "transcribe":
            result = transcribe(model, header, to_float32(payload, header.get("format", "s16le")))
        else:
            result = transcribe_batch(model, header, payload)
    except ValueError as exc:
        channel.send({"type": "error", "id": rid, "code": "INVALID_AUDIO", "message": str(exc)})
        return
    except Exception as exc:
        log("ERROR", f"request {rid} failed: {type(exc).__name__}: {exc}")
        channel.send({"type": "error", "id": rid, "code": "INFERENCE_FAILED", "message": f"{type(exc).__name__}: {exc}"})
        return
    kind = "result" if op == "transcribe" else "result_batch"
    result.update({"type": kind, "id": rid, "inferMs": round((time.perf_counter() - t0) * 1000.0, 3)})
    channel.send(result)

def main():
    parser = argparse.ArgumentParser(description="EchoPanel faster-whisper worker")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--sha256", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compute-type", default="default")
    parser.add_argument("--cpu-threads", type=int, default=0)
    parser.add_argument("--parallel", type=int, default=1, help="requests decoded at the same time")
    args = parser.parse_args()
    if args.probe:
        probe()
        return 0
    if not args.model:
        parser.error("--model is required")
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
