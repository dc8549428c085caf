"""Complexity vs generalization (seed Q42): curves through the wrappers and double descent."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from lamina.sklearn import NeuralNetClassifier
from lamina.sklearn.selection import complexity_curve, double_descent, plot_curves


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def test_complexity_curve_over_width_and_plot(digits, tmp_path):
    X, y = digits
    net = NeuralNetClassifier(max_epochs=5, random_state=0)
    curve = complexity_curve(net, X[:400], y[:400], "module__hidden", [(2,), (32,)], cv=2)
    assert curve["val_mean"][1] > curve["val_mean"][0] + 0.2  # width 2 underfits
    assert curve["train_mean"][1] >= curve["val_mean"][1]
    plot_curves(curve, tmp_path / "c.png", title="width")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_double_descent_over_width(digits):
    """Measured (200 digits, 20% label noise, full-batch Adam 300 epochs): test error
    0.90, 0.50, 0.23, 0.17, 0.19, 0.22, 0.23, 0.21, 0.20 at widths 1..1024 (1, 2, 4, 8, 16,
    32, 64, 256, 1024); training error reaches 0 at width 64: a peak near interpolation and a
    second descent beyond it. ~110 s on a shared 2-core machine."""
    X, y = digits
    idx = np.random.default_rng(0).permutation(len(X))
    tr, te = idx[:200], idx[1000:]
    r = double_descent(X[tr], y[tr], X[te], y[te], [8, 64, 1024], label_noise=0.2)
    assert r["train_error"][1] == 0.0
    assert r["test_error"][1] > r["test_error"][0] and r["test_error"][2] < r["test_error"][1]
