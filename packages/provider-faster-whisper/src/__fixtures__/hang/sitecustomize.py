"""TEST-ONLY: never shipped (src/__fixtures__ is outside the package's `files`).

Python imports `sitecustomize` at start-up from PYTHONPATH. With this directory on PYTHONPATH and
ECHOPANEL_TEST_HANG_FLAG naming a file, faster-whisper's WhisperModel.transcribe hangs while that file says so:
"once" hangs one call (the file is removed first), "always" hangs every call. This is how the tests make the
real worker hang without any test switch in the worker itself.
"""

import os
import sys
import time

_flag = os.environ.get("ECHOPANEL_TEST_HANG_FLAG")

if _flag:
    import faster_whisper.transcribe as _fw

    _original = _fw.WhisperModel.transcribe

    def _transcribe(self, *args, **kwargs):
        try:
            with open(_flag) as f:
                mode = f.read().strip()
        except FileNotFoundError:
            mode = ""
        if mode == "once":
            os.remove(_flag)
        if mode in ("once", "always"):
            sys.stderr.write(f"WARNING test hook: transcribe hangs ({mode})\n")
            sys.stderr.flush()
            time.sleep(3600)
        return _original(self, *args, **kwargs)

    _fw.WhisperModel.transcribe = _transcribe
