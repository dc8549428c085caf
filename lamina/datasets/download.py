"""Fetch a file into a local cache (atomically, with an optional sha256 check).

``download`` works with ``http(s)://``, ``file://`` URLs and local paths through ``urllib``; the
tests exercise it with ``file://`` URLs, so the code path real downloads take is tested offline.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from ..data.csv_dataset import CSVDataset

__all__ = ["download", "load_csv_url", "default_cache_dir"]


def default_cache_dir() -> Path:
    """``$LAMINA_CACHE`` or ``~/.cache/lamina``."""
    return Path(os.environ.get("LAMINA_CACHE", "~/.cache/lamina")).expanduser()


def _url(url_or_path) -> str:
    s = str(url_or_path)
    if urllib.parse.urlparse(s).scheme in ("http", "https", "file", "ftp"):
        return s
    return Path(s).expanduser().resolve().as_uri()  # a local path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url_or_path, cache_dir=None, sha256: str | None = None,
             filename: str | None = None, timeout: float = 60.0) -> Path:
    """Copy a URL (or local path) into ``cache_dir`` once, and return the cached file's path.

    The file is written to a temporary name in ``cache_dir`` and renamed into place only after
    the whole body arrived and (when given) its sha256 matched, so an interrupted or corrupt
    download never leaves a file that looks complete. A cached file is reused without fetching
    (after re-checking ``sha256`` when given).

    Args:
        url_or_path (str or Path): ``https://...``, ``file://...`` or a local path.
        cache_dir (str or Path): where to keep the file; default :func:`default_cache_dir`.
        sha256 (str): expected hex digest; mismatch raises ValueError. Default None (no check).
        filename (str): name in the cache; default the last part of the URL path.
        timeout (float): seconds to wait for the server. Default 60.

    Returns:
        Path of the cached file.
    """
    url = _url(url_or_path)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    name = filename or Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    if not name:
        raise ValueError(f"download: expected a URL that ends in a file name, got {url!r}; "
                         "pass filename=...")
    target = cache / name
    want = sha256.lower() if sha256 else None
    if target.exists() and (want is None or _sha256(target) == want):
        return target
    fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            while block := resp.read(1 << 20):
                h.update(block)
                out.write(block)
        got = h.hexdigest()
        if want is not None and got != want:
            raise ValueError(f"download({url}): expected sha256 {want}, got {got}; the file is "
                             "corrupt or changed at the source, so it was not cached")
        os.replace(tmp, target)  # atomic on the same file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_csv_url(url_or_path, cache_dir=None, sha256: str | None = None,
                 **csv_kwargs) -> CSVDataset:
    """Download (or reuse the cached copy of) a CSV file and open it as a :class:`CSVDataset`.

    Args:
        url_or_path (str or Path): ``https://...``, ``file://...`` or a local path.
        cache_dir (str or Path): cache folder; default :func:`default_cache_dir`.
        sha256 (str): expected hex digest of the file. Default None.
        **csv_kwargs: passed to :class:`CSVDataset` (``target``, ``categorical``, ``missing``...).

    Returns:
        CSVDataset (its ``path`` is the cached file).

    Example:
        >>> ds = load_csv_url("https://example.org/data.csv", sha256="ab12...", target="label")
    """
    return CSVDataset(download(url_or_path, cache_dir, sha256), **csv_kwargs)
