"""The download code path, exercised offline with file:// URLs."""

import hashlib

import numpy as np
import pytest

from lamina.datasets import download, load_csv_url

CSV = "x1,x2,label\n0.5,1.0,a\n1.5,2.0,b\n2.5,3.0,a\n"


@pytest.fixture
def source(tmp_path):
    p = tmp_path / "src" / "table.csv"
    p.parent.mkdir()
    p.write_text(CSV)
    return p


def test_load_csv_url_from_file_url_with_sha(tmp_path, source):
    sha = hashlib.sha256(CSV.encode()).hexdigest()
    cache = tmp_path / "cache"
    ds = load_csv_url(source.as_uri(), cache_dir=cache, sha256=sha, target="label")
    assert ds.path == cache / "table.csv" and ds.path.read_text() == CSV
    assert len(ds) == 3 and ds.X.dtype == np.float32 and ds.classes == ["a", "b"]
    assert [p.name for p in cache.iterdir()] == ["table.csv"]  # no temporary file left


def test_cached_file_is_reused(tmp_path, source):
    cache = tmp_path / "cache"
    first = download(str(source), cache_dir=cache)  # a plain local path works too
    source.write_text(CSV + "9,9,b\n")
    assert download(source.as_uri(), cache_dir=cache) == first
    assert first.read_text() == CSV


def test_sha_mismatch_raises_and_caches_nothing(tmp_path, source):
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="expected sha256 0{64}, got"):
        download(source.as_uri(), cache_dir=cache, sha256="0" * 64)
    assert list(cache.iterdir()) == []


def test_stale_cache_with_wrong_sha_is_refetched(tmp_path, source):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "table.csv").write_text("corrupt")
    sha = hashlib.sha256(CSV.encode()).hexdigest()
    assert download(source.as_uri(), cache_dir=cache, sha256=sha).read_text() == CSV


def test_missing_source_raises(tmp_path):
    with pytest.raises(OSError):
        download((tmp_path / "nope.csv").as_uri(), cache_dir=tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []
