"""TEST-ONLY: never shipped (src/__fixtures__ is outside the package's `files`).

Python imports `sitecustomize` at start-up from PYTHONPATH. With this directory on PYTHONPATH and
ECHOPANEL_TEST_HANG_FLAG naming a file, faster-whisper's WhisperModel.transcribe hangs while that file says so:
"once" hangs one call (the file is removed first), "always" hangs every call, "load" hangs in the model's
constructor instead. The hanging process writes its pid to `<flag>.pid`. This is how the tests make the real
worker hang without any test switch in the worker itself.
"""

import os
import sys
import time

_flag = os.environ.get("ECHOPANEL_TEST_HANG_FLAG")

if _flag:
    import faster_whisper.transcribe as _fw

    _original = _fw.WhisperModel.transcribe
    _original_init = _fw.WhisperModel.__init__

    def _mode():
        try:
            with open(_flag) as f:
                return f.read().strip()
        except FileNotFoundError:
            return ""

    def _hang(what):
        with open(_flag + ".pid", "w") as f:
            f.write(str(os.getpid()))
        sys.stderr.write(f"WARNING test hook: {what} hangs\n")
        sys.stderr.flush()
        time.sleep(3600)

    def _init(self, *args, **kwargs):
        if _mode() == "load":
            _hang("model load")
        return _original_init(self, *args, **kwargs)

    def _transcribe(self, *args, **kwargs):
        mode = _mode()
        if mode == "once":
            os.remove(_flag)
        if mode in ("once", "always"):
            _hang(f"transcribe ({mode})")
        return _original(self, *args, **kwargs)

    _fw.WhisperModel.__init__ = _init
    _fw.WhisperModel.transcribe = _transcribe
