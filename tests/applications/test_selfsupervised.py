"""Self-supervised learning (seed Q39): rotation pretext, NT-Xent (SimCLR), linear probe, and
the outcome: a linear probe on SimCLR features of mnist5k beats the same network with random
weights, with 10% of the labels."""

import contextlib

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn
from lamina.applications.selfsupervised import (RotationPrediction, SimCLR, extract_features,
                                                linear_probe, nt_xent_loss, pretrain_rotation,
                                                pretrain_simclr, rotate_batch)
from lamina.data import Compose, GaussianNoise, RandomRotation, RandomShift
from lamina.models import LeNet5
from lamina.testing import gradcheck


def _one_blas_thread():
    """One BLAS thread: tiny GEMMs crawl when a loaded machine oversubscribes OpenBLAS."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def make_encoder():
    """LeNet-5's conv features and a 128-unit embedding, with BatchNorm: images -> (N, 128)."""
    features = LeNet5(batch_norm=True).features
    return nn.Sequential(features, nn.Flatten(), nn.Linear(400, 128), nn.BatchNorm1d(128),
                         nn.ReLU())


def _nt_xent_ref(z1, z2, t):
    z = np.concatenate([z1, z2]).astype(np.float64)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    s = z @ z.T / t
    np.fill_diagonal(s, -np.inf)
    n = len(z1)
    target = np.r_[np.arange(n, 2 * n), np.arange(n)]
    logp = s - np.log(np.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - s.max(1, keepdims=True)
    return -logp[np.arange(2 * n), target].mean()


def test_rotate_batch_rotations_and_labels(rs):
    x = rs.standard_normal((3, 1, 5, 5)).astype(np.float32)
    xr, yr = rotate_batch(L.tensor(x))
    assert xr.shape == (12, 1, 5, 5) and xr.dtype == np.float32
    assert yr.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    assert np.array_equal(xr[4, 0], np.rot90(x[1, 0]))  # image 1, 90 degrees
    assert np.array_equal(xr[7, 0], x[1, 0, ::-1, ::-1])  # image 1, 180 degrees
    with pytest.raises(ValueError, match="rotate_batch: expected images square"):
        rotate_batch(np.zeros((2, 1, 4, 5)))


def test_nt_xent_value_gradient_and_extremes(rs):
    z1, z2 = rs.standard_normal((5, 3)), rs.standard_normal((5, 3))
    loss = nt_xent_loss(L.tensor(z1.astype(np.float32)), L.tensor(z2.astype(np.float32)), 0.5)
    assert loss.dtype == np.float32
    assert loss.item() == pytest.approx(_nt_xent_ref(z1, z2, 0.5), rel=1e-5)
    assert gradcheck(lambda a, b: nt_xent_loss(a, b, 0.3), z1, z2)
    # partners identical and far from the rest: loss near 0; all rows equal: log(2N - 1)
    e = np.eye(4, dtype=np.float32)
    assert nt_xent_loss(L.tensor(e), L.tensor(e), 0.05).item() < 1e-6
    same = np.ones((4, 3), np.float32)
    assert nt_xent_loss(L.tensor(same), L.tensor(same)).item() == pytest.approx(np.log(7))
    with pytest.raises(ValueError, match="nt_xent_loss: expected z1 and z2 of the same shape"):
        nt_xent_loss(L.randn(4, 3), L.randn(5, 3))


def test_linear_probe_on_separable_features_and_frozen_encoder(rs):
    centers = rs.standard_normal((3, 8)) * 4
    y = rs.integers(0, 3, 300)
    x = (centers[y] + rs.standard_normal((300, 8))).astype(np.float32)
    encoder = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8))
    before = {k: v.copy() for k, v in encoder.state_dict().items()}
    acc = linear_probe(encoder, x[:200], y[:200], x[200:], y[200:], epochs=30)
    assert acc >= 0.95
    assert encoder.training  # mode restored
    assert all(np.array_equal(before[k], v) for k, v in encoder.state_dict().items())
    assert extract_features(encoder, x[:7]).shape == (7, 8)


def test_pretext_models_shapes_and_rotation_task_learns():
    L.manual_seed(0)
    enc = make_encoder()
    assert RotationPrediction(enc, 128)(L.randn(2, 1, 28, 28)).shape == (2, 4)
    assert SimCLR(enc, 128, proj_dim=32)(L.randn(2, 1, 28, 28)).shape == (2, 32)
    from lamina.datasets import load
    x = load("digits").x_train[:256]  # 8x8 digits: a few seconds
    small = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 32), nn.ReLU())
    with _one_blas_thread():
        hist = pretrain_rotation(small, x, 32, epochs=4, batch_size=32, lr=3e-3)
        h2 = pretrain_simclr(small, x, 32, epochs=2, batch_size=32,
                             augment=Compose([RandomShift(1), GaussianNoise(0.1)]))
    acc = hist.history["accuracy"]
    assert acc[-1] > max(0.55, acc[0])  # learnable (chance: 0.25)
    assert h2.history["loss"][-1] < np.log(2 * 32 - 1)


@pytest.fixture(scope="module")
def mnist():
    from lamina.datasets import load
    return load("mnist5k")


def test_simclr_features_beat_random_weights_with_10pct_labels(mnist):
    d = mnist
    g = np.random.default_rng(0)
    idx = np.concatenate([g.choice(np.flatnonzero(d.y_train == c), 40, replace=False)
                          for c in range(10)])  # 400 labels = 10% of the training images
    x_l, y_l = d.x_train[idx], d.y_train[idx]
    with _one_blas_thread():
        L.manual_seed(0)
        random_enc = make_encoder()
        random_acc = linear_probe(random_enc, x_l, y_l, d.x_test, d.y_test)
        L.manual_seed(0)
        enc = make_encoder()  # the same initial weights, then pretrained without labels
        aug = Compose([RandomShift(3), RandomRotation(20), GaussianNoise(0.1)])
        pretrain_simclr(enc, d.x_train, 128, augment=aug, epochs=2, batch_size=64, lr=2e-3,
                        temperature=0.2)
        ssl_acc = linear_probe(enc, x_l, y_l, d.x_test, d.y_test)
    print(f"linear probe: random weights {random_acc:.3f}, SimCLR {ssl_acc:.3f}")
    assert ssl_acc >= random_acc + 0.03
