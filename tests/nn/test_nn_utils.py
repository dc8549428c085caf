"""nn.utils: gradient clipping (torch parity) and parameter <-> vector conversion."""

import math

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn
from lamina.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                             vector_to_parameters)


def _pair(rs):
    grads = [rs.standard_normal((4, 3)) * 3, rs.standard_normal(5) * 3]
    lp = [L.Parameter(np.zeros(g.shape, np.float32)) for g in grads]
    for p, g in zip(lp, grads):
        p.grad = g.astype(np.float32)
    return lp, grads


@pytest.mark.torch
@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 1.0), (1.0, 2.0), (math.inf, 0.5),
                                                (3.0, 100.0)])
def test_clip_grad_norm_matches_torch(rs, norm_type, max_norm):
    import torch
    lp, grads = _pair(rs)
    tp = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    for p, g in zip(tp, grads):
        p.grad = torch.tensor(g, dtype=torch.float32)
    n_l = clip_grad_norm_(lp, max_norm, norm_type)
    n_t = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    assert isinstance(n_l, L.Tensor) and n_l.dtype == np.float32
    assert n_l.item() == pytest.approx(n_t.item(), rel=1e-5)
    for a, b in zip(lp, tp):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-5)
        assert a.grad.dtype == np.float32


def test_clip_grad_norm_result_and_nonfinite(rs):
    lp, _ = _pair(rs)
    clip_grad_norm_(iter(lp), 1.0)
    total = math.sqrt(sum(float((p.grad.array.astype(np.float64) ** 2).sum()) for p in lp))
    assert total == pytest.approx(1.0, rel=1e-4)
    lp[0].grad[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(lp, 1.0, error_if_nonfinite=True)
    assert clip_grad_norm_([L.Parameter(np.zeros(2, np.float32))], 1.0).item() == 0.0


def test_clip_grad_value(rs):
    lp, grads = _pair(rs)
    clip_grad_value_(lp, 0.5)
    for p, g in zip(lp, grads):
        np.testing.assert_allclose(p.grad, np.clip(g, -0.5, 0.5).astype(np.float32))
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(lp, -1.0)  # 0 is allowed (as in PyTorch): it zeroes the grads


def test_parameters_vector_roundtrip_and_grad():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    (vec * vec).sum().backward()  # differentiable, as torch's
    np.testing.assert_allclose(model[0].weight.grad, 2 * model[0].weight.numpy())
    new = L.arange(vec.shape[0]).float()
    vector_to_parameters(new, model.parameters())
    np.testing.assert_array_equal(model[0].weight.numpy().ravel(), np.arange(12))
    np.testing.assert_array_equal(model[1].bias.numpy(), [24, 25])
    assert model[1].bias.dtype == np.float32
    with pytest.raises(ValueError, match="vector_to_parameters: expected a 1-D vector of 26"):
        vector_to_parameters(L.zeros(5), model.parameters())
