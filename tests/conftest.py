"""Shared fixtures: every test starts from the same seed and float32 default."""

import importlib.util

import numpy as np
import pytest

import lamina

HAS_TORCH = importlib.util.find_spec("torch") is not None

try:  # one BLAS thread: the tests' matrices are small, and on a busy 2-core machine
    # OpenBLAS's spinning threads made them up to ~100x slower. Speed lives in benchmarks/.
    from threadpoolctl import threadpool_limits
    _BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    _BLAS_LIMIT = None


@pytest.fixture(autouse=True)
def _seed():
    lamina.manual_seed(0)
    lamina.set_default_dtype("float32")
    yield
    lamina.set_default_dtype("float32")


@pytest.fixture
def rs():
    """A NumPy RandomState-like generator for test data."""
    return np.random.default_rng(1234)


def pytest_collection_modifyitems(config, items):
    skip_torch = pytest.mark.skip(reason="PyTorch not installed (parity test)")
    for item in items:
        if "torch" in item.keywords and not HAS_TORCH:
            item.add_marker(skip_torch)
