"""Atomic file writes: a crash mid-write leaves the old file (or none), never a torn one."""

from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write"]


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically.

    The bytes go to a temporary file in the same directory (so the rename stays on one file
    system), which is flushed and fsync'ed, then moved over ``path`` with ``os.replace``; the
    directory entry is fsync'ed too where the platform allows it.

    Args:
        path (str or PathLike): destination; its directory must exist.
        data (bytes or str): the whole content (str is encoded as UTF-8).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        # mkstemp creates 0600; give the file the usual mode (0666 minus the umask)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # persist the rename itself (POSIX); not possible on every platform
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)
