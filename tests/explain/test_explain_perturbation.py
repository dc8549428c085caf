"""Perturbation and Shapley methods: Captum 0.9 parity on a twin, and the Shapley axioms."""

import itertools
from math import factorial

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.explain import (FeatureAblation, KernelShap, Lime, Occlusion, ShapleyValues,
                            ShapleyValueSampling)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TARGET = [0, 3, 7, 9]


def _t(x):
    import torch
    return torch.from_numpy(np.ascontiguousarray(x))


@pytest.mark.torch
def test_occlusion_and_feature_ablation_match_captum(cnn_pair):
    ca = pytest.importorskip("captum.attr")
    model, tm, x = cnn_pair
    kw = dict(sliding_window_shapes=(1, 3, 3), strides=(1, 2, 2), baselines=0.5)
    a = Occlusion(model).attribute(x, target=TARGET, **kw).numpy()
    ref = ca.Occlusion(tm).attribute(_t(x), target=TARGET, **kw).numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)  # Captum divides in float32
    mask = (np.arange(64).reshape(1, 1, 8, 8) // 8) % 5  # 5 groups of rows
    a = FeatureAblation(model).attribute(x, target=TARGET, feature_mask=mask).numpy()
    ref = ca.FeatureAblation(tm).attribute(_t(x), target=TARGET,
                                           feature_mask=_t(mask)).numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-9)


@pytest.mark.torch
def test_exact_shapley_matches_captum_and_is_efficient(cnn_pair):
    ca = pytest.importorskip("captum.attr")
    model, tm, x = cnn_pair
    mask = (np.arange(64).reshape(1, 1, 8, 8) % 8) // 3  # 3 column groups
    a = ShapleyValues(model).attribute(x, baselines=0.2, target=TARGET,
                                       feature_mask=mask).numpy()
    ref = ca.ShapleyValues(tm).attribute(_t(x), baselines=0.2, target=TARGET,
                                         feature_mask=_t(mask)).numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-6)
    f = model(lamina.tensor(x)).numpy()[np.arange(4), TARGET]
    fb = model(lamina.tensor(np.full_like(x, 0.2))).numpy()[np.arange(4), TARGET]
    per_group = np.stack([a[:, 0][:, mask[0, 0] == g][:, 0] for g in range(3)], 1)
    np.testing.assert_allclose(per_group.sum(1), f - fb, atol=1e-8)


def _game(x):  # a 3-feature function with interaction, a dummy feature 3, symmetric 0 and 1
    a = x.array if hasattr(x, "array") else x
    return lamina.tensor(a[:, 0] * a[:, 1] + 2 * a[:, 2] + a[:, 0] + a[:, 1] + 0 * a[:, 3])


def test_exact_shapley_equals_brute_force_and_axioms():
    x = np.array([[1.0, 1.0, 2.0, 5.0], [0.5, 2.0, -1.0, 3.0]])
    phi = ShapleyValues(_game).attribute(x).numpy()
    m = 4
    for r in range(2):
        for i in range(m):
            brute = 0.0
            for perm in itertools.permutations(range(m)):
                before = perm[:perm.index(i)]
                z = np.zeros((1, m))
                z[0, list(before)] = x[r, list(before)]
                z2 = z.copy()
                z2[0, i] = x[r, i]
                brute += (_game(z2).item() - _game(z).item()) / factorial(m)
            assert abs(phi[r, i] - brute) < 1e-12
    assert np.all(phi[:, 3] == 0)                       # dummy
    assert phi[0, 0] == pytest.approx(phi[0, 1])        # symmetry (x0 = x1 in row 0)
    sv = ShapleyValueSampling(_game).attribute(x, n_samples=30).numpy()
    np.testing.assert_allclose(sv.sum(1), phi.sum(1), atol=1e-12)  # efficiency per ordering
    np.testing.assert_allclose(sv, phi, atol=0.3)


def test_kernel_shap_and_lime_recover_a_linear_model():
    pytest.importorskip("sklearn")
    lin = nn.Linear(6, 1).double()
    x = np.random.default_rng(0).standard_normal((3, 6))
    exact = x * lin.weight.numpy()[0]
    ks = KernelShap(lin).attribute(x, n_samples=200).numpy()
    np.testing.assert_allclose(ks, exact, atol=1e-4)
    lime = Lime(lin).attribute(x, n_samples=300).numpy()
    assert np.corrcoef(lime.ravel(), exact.ravel())[0, 1] > 0.95
