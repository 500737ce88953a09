"""Writing files so that a reader never sees half of one: a temporary file, then os.replace."""

import os
import tempfile
from pathlib import Path


def write_atomic(path, data, mode=0o644):
    """Write `data` (bytes, or text as UTF-8) to `path` whole or not at all; make its folder."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
