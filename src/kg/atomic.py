"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The bytes go to a temporary file in the target's folder, are flushed to disk, and replace
the target with one rename. If anything fails on the way (a full disk, an exception while
the content is produced, Ctrl-C) the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import InputError


def write_atomic(path: str | Path, content: bytes | Callable[[], bytes]) -> None:
    """Write ``content`` (bytes, or a function producing them) to ``path`` atomically.

    The content is produced before the target is touched, so a failure while building
    it leaves the previous file byte-identical. An existing file keeps its permissions.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("cannot write: the folder does not exist", str(path))
    if path.is_dir():
        raise InputError("cannot write: it is a folder", str(path))
    data = content() if callable(content) else content
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror}", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError):
            raise InputError(f"cannot write: {e.strerror or e}", str(path)) from None
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
