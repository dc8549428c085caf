"""Shared fixtures: every test starts from the same seed and float32 default."""

import importlib.util

import numpy as np
import pytest

import lamina

HAS_TORCH = importlib.util.find_spec("torch") is not None


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
