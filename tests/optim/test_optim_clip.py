"""Gradient clipping: global norm (against torch) and by value."""

import numpy as np
import pytest

from lamina import optim
from lamina.autograd import Parameter


def make(rs, dtype=np.float64, scale=3.0):
    ps = [Parameter(np.zeros(s, dtype)) for s in [(4, 5), (7,), (2, 3, 3), (3,)]]
    for p in ps[:3]:
        p.grad = (scale * rs.standard_normal(p.shape)).astype(dtype)
    return ps  # the last one has no gradient


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, float("inf"), "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
def test_clip_grad_norm_matches_torch(rs, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ps = make(rs)
    tps = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in ps]
    for p, t in zip(ps, tps):
        if p.grad is not None:
            t.grad = torch.tensor(p.grad.array.copy())
    total = optim.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    ref = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type=norm_type)
    assert float(total) == pytest.approx(float(ref), rel=1e-12)
    for p, t in zip(ps, tps):
        if p.grad is None:
            assert t.grad is None
        else:
            np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)
    new = optim.get_total_norm([p.grad for p in ps if p.grad is not None], norm_type)
    assert float(new) <= max_norm * (1 + 1e-6)


def test_clip_grad_norm_is_global_and_in_place(rs):
    ps = make(rs, np.float32)
    grads = [p.grad.array for p in ps if p.grad is not None]
    before = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    copies = [g.copy() for g in grads]
    total = optim.clip_grad_norm_(iter(ps), 1.0)
    assert total.dtype == np.float32 and float(total) == pytest.approx(before, rel=1e-5)
    for p, g, c in zip(ps, grads, copies):
        assert p.grad.array is g and g.dtype == np.float32  # scaled in place, no upcast
        np.testing.assert_allclose(g, c * (1.0 / (before + 1e-6)), rtol=1e-5)
    # one Parameter alone, and nothing to clip
    single = Parameter(np.zeros(3))
    single.grad = np.array([3.0, 4.0, 0.0])
    assert float(optim.clip_grad_norm_(single, 1.0)) == pytest.approx(5.0)
    np.testing.assert_allclose(single.grad, [0.6, 0.8, 0.0], rtol=1e-6)
    assert float(optim.clip_grad_norm_([Parameter(np.zeros(2))], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite(rs):
    ps = make(rs)
    ps[0].grad[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="clip_grad_norm_: expected a finite total norm"):
        optim.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        optim.clip_grad_norm_(ps, 1.0, norm_type="fro")


@pytest.mark.torch
def test_clip_grad_value_matches_torch(rs):
    torch = pytest.importorskip("torch")
    ps = make(rs)
    tgs = [torch.tensor(p.grad.array.copy()) for p in ps if p.grad is not None]
    optim.clip_grad_value_(ps, 0.7)
    for p, g in zip(ps, tgs):
        ref = g.clamp(-0.7, 0.7).numpy()
        np.testing.assert_array_equal(p.grad, ref)
    assert max(np.abs(p.grad).max() for p in ps if p.grad is not None) == 0.7
    with pytest.raises(ValueError, match="clip_grad_value_: expected clip_value >= 0"):
        optim.clip_grad_value_(ps, -1.0)
